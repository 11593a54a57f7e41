// Subprocess: runs a real binary for integration tests, with pipes on stdin/stdout/stderr,
// a deadline on every wait, and a kill by pid when a test ends early. Not thread-safe.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace mesh::test_support {

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out;
  std::string err;
};

class Subprocess {
 public:
  // Starts argv[0] (a path) with `env` added to the environment ("KEY=value"), replacing a
  // variable of the same name.
  Subprocess(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}) {
    int in[2], out[2], err[2];
    if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) {
      posix_spawn_file_actions_addclose(&actions, fd);
    }
    std::vector<std::string> env_strings;
    const auto overridden = [&env](std::string_view variable) {
      const std::string_view name = variable.substr(0, variable.find('='));
      return std::any_of(env.begin(), env.end(), [name](const std::string& e) { return e.starts_with(std::string(name) + "="); });
    };
    for (char** e = environ; *e; ++e) {
      if (!overridden(*e)) env_strings.emplace_back(*e);
    }
    for (const std::string& e : env) env_strings.push_back(e);
    std::vector<char*> envp, args;
    for (std::string& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    for (std::string& a : argv_copy) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    in_ = in[1];
    out_ = out[0];
    err_ = err[0];
    fcntl(out_, F_SETFL, O_NONBLOCK);
    fcntl(err_, F_SETFL, O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
  }

  ~Subprocess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : {in_, out_, err_}) {
      if (fd >= 0) close(fd);
    }
  }

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  bool Write(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = write(in_, data.data() + done, data.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      done += static_cast<size_t>(n);
    }
    return true;
  }
  void CloseStdin() {
    if (in_ >= 0) close(in_);
    in_ = -1;
  }
  void Signal(int sig) { kill(pid_, sig); }

  // Reads stdout until it contains `needle` or the deadline passes.
  bool WaitForOutput(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out_text_.find(needle) == std::string::npos) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      Pump(50);
    }
    return true;
  }

  // Reads stderr until it contains `needle` or the deadline passes.
  bool WaitForStderr(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (err_text_.find(needle) == std::string::npos) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      Pump(50);
    }
    return true;
  }
  // Reads stderr until `needle` occurs in it `count` times or the deadline passes.
  bool WaitForStderrCount(const std::string& needle, size_t count, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      size_t seen = 0;
      for (size_t at = err_text_.find(needle); at != std::string::npos; at = err_text_.find(needle, at + 1)) ++seen;
      if (seen >= count) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      Pump(50);
    }
  }
  const std::string& err() const { return err_text_; }

  // Waits for exit (killing the process at the deadline) and collects everything.
  RunResult Wait(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    CloseStdin();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    RunResult r;
    int status = 0;
    while (true) {
      Pump(20);
      const pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        reaped_ = true;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        reaped_ = true;
        status = -1;
        break;
      }
    }
    // Drain what is left in the pipes.
    for (int i = 0; i < 5; ++i) Pump(0);
    r.exit_code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = out_text_;
    r.err = err_text_;
    return r;
  }

  const std::string& out() const { return out_text_; }

 private:
  void Pump(int timeout_ms) {
    pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
    poll(fds, 2, timeout_ms);
    char buf[65536];
    for (auto [fd, text] : {std::pair{out_, &out_text_}, std::pair{err_, &err_text_}}) {
      while (true) {
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        text->append(buf, static_cast<size_t>(n));
      }
    }
  }

  pid_t pid_ = -1;
  bool reaped_ = false;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string out_text_, err_text_;
};

// Runs a command to completion with `input` on its stdin.
inline RunResult RunProcess(const std::vector<std::string>& argv, const std::string& input = "",
                     const std::vector<std::string>& env = {}) {
  Subprocess p(argv, env);
  if (!input.empty()) p.Write(input);
  return p.Wait();
}

}  // namespace mesh::test_support
