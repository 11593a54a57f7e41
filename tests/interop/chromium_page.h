// Headless Chromium for the dashboard's interop suites: a page rendered once and its DOM dumped
// (with a screenshot kept for people to look at), a browser driven over the DevTools protocol
// for what the DOM cannot show or what needs a click, and the two ways the suites pick values
// out of a dumped DOM. Each browser runs with a fresh profile given by the caller.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <json/json.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "interop_support.h"
#include "subprocess.h"

namespace mesh::interop {

// The flags every run shares: no sandbox, GPU, network chatter or first-run UI, and a container's
// small /dev/shm (which crashes renderers) left alone for /tmp.
inline std::vector<std::string> ChromiumCommand(const std::string& chromium, const std::string& profile) {
  return {chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage", "--user-data-dir=" + profile};
}

struct RenderOptions {
  std::string window_size = "1280,800";
  // Chromium logs every console message as "CONSOLE" on stderr with --enable-logging; when set,
  // any such line (a script error, a refused fetch, a CSP violation) fails the test.
  bool silent_console = false;
};

// Loads `url` in headless Chromium with the fresh profile `profile`, lets the page's script run
// for five seconds of virtual time, and returns the DOM it built; saves a screenshot to `png`,
// which must come out a PNG.
inline std::string RenderPage(const std::string& chromium, const std::string& url, const std::string& profile,
                              const std::string& png, const RenderOptions& options = {}) {
  std::error_code ec;
  std::filesystem::remove(png, ec);  // a stale screenshot must not pass for a new one
  std::vector<std::string> argv = ChromiumCommand(chromium, profile);
  if (options.silent_console) argv.insert(argv.end(), {"--enable-logging=stderr", "--v=0"});
  argv.insert(argv.end(), {"--virtual-time-budget=5000", "--window-size=" + options.window_size,
                           "--screenshot=" + png, "--dump-dom", url});
  test_support::Subprocess browser(argv);
  const test_support::RunResult r = browser.Wait(std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << "chromium on " << url << ":\n" << r.err;
  EXPECT_NE(r.out.find("</html>"), std::string::npos) << "no DOM dumped for " << url << ":\n" << r.err;
  if (options.silent_console) {
    EXPECT_EQ(r.err.find(":CONSOLE"), std::string::npos) << "console output on " << url << ":\n" << r.err;
  }
  const std::string image = ReadFile(png);
  EXPECT_GT(image.size(), 1000u) << png;
  EXPECT_EQ(image.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << png;
  return r.out;
}

// A headless Chromium driven over the DevTools protocol (--remote-debugging-pipe: JSON
// commands, each ended by a NUL, on the browser's fd 3, answers the same way on its fd 4).
// Closed, and killed by pid if it lingers, on destruction.
class DevToolsBrowser {
 public:
  DevToolsBrowser(const std::string& chromium, const std::string& url, const std::string& profile) {
    int to_browser[2], from_browser[2];
    if (pipe(to_browser) != 0 || pipe(from_browser) != 0) return;
    std::vector<std::string> argv = ChromiumCommand(chromium, profile);
    argv.insert(argv.end(), {"--window-size=1280,900", "--remote-debugging-pipe", url});
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      // The pipe ends go to 3 and 4 by way of higher numbers, so no dup2 overwrites another.
      const int in = fcntl(to_browser[0], F_DUPFD, 10), out = fcntl(from_browser[1], F_DUPFD, 10);
      dup2(in, 3);
      dup2(out, 4);
      const int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      for (int fd = 5; fd < 1024; ++fd) close(fd);
      execv(args[0], args.data());
      _exit(127);
    }
    close(to_browser[0]);
    close(from_browser[1]);
    signal(SIGPIPE, SIG_IGN);  // a browser that died fails the write, not the test process
    commands_ = to_browser[1];
    answers_ = from_browser[0];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (session_.empty() && std::chrono::steady_clock::now() < deadline) {
      const Json::Value targets = Call("Target.getTargets", Json::Value(Json::objectValue), "");
      if (targets.isNull()) break;
      for (const Json::Value& t : targets["result"]["targetInfos"]) {
        if (t["type"].asString() != "page") continue;
        Json::Value attach;
        attach["targetId"] = t["targetId"];
        attach["flatten"] = true;
        session_ = Call("Target.attachToTarget", attach, "")["result"]["sessionId"].asString();
        break;
      }
      if (session_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  ~DevToolsBrowser() {
    if (pid_ <= 0) return;
    Call("Browser.close", Json::Value(Json::objectValue), "");
    close(commands_);
    close(answers_);
    int status = 0;
    for (int i = 0; i < 100 && waitpid(pid_, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (waitpid(pid_, &status, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  DevToolsBrowser(const DevToolsBrowser&) = delete;
  DevToolsBrowser& operator=(const DevToolsBrowser&) = delete;

  bool attached() const { return !session_.empty(); }

  // The value of `expression` (awaited when it is a promise), as a string; "" on failure.
  std::string Evaluate(const std::string& expression) {
    Json::Value params;
    params["expression"] = expression;
    params["returnByValue"] = true;
    params["awaitPromise"] = true;
    const Json::Value answer = Call("Runtime.evaluate", params, session_);
    const Json::Value& value = answer["result"]["result"]["value"];
    return value.isString() ? value.asString() : value.isNull() ? "" : ToJson(value);
  }

  // Polls `expression` until it gives a non-empty string or `timeout` passes ("" then).
  std::string WaitFor(const std::string& expression,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string value = Evaluate(expression);
      if (!value.empty()) return value;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return "";
  }

 private:
  // Sends one command and returns the answer with its id (events in between are skipped);
  // null on a closed pipe or after 30 s.
  Json::Value Call(const std::string& method, const Json::Value& params, const std::string& session) {
    if (pid_ <= 0) return Json::Value();
    Json::Value command;
    command["id"] = ++next_id_;
    command["method"] = method;
    command["params"] = params;
    if (!session.empty()) command["sessionId"] = session;
    const std::string text = ToJson(command) + '\0';
    if (write(commands_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) return Json::Value();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (true) {
      for (size_t end; (end = buffered_.find('\0')) != std::string::npos;) {
        const Json::Value message = ParseJson(buffered_.substr(0, end));
        buffered_.erase(0, end + 1);
        if (message["id"].asInt() == next_id_) return message;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      struct pollfd p {answers_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) return Json::Value();
      char chunk[65536];
      const ssize_t n = read(answers_, chunk, sizeof chunk);
      if (n <= 0) return Json::Value();
      buffered_.append(chunk, static_cast<size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int commands_ = -1, answers_ = -1;
  std::string session_, buffered_;
  int next_id_ = 0;
};

// The HTML of the element that starts at the first match of `open` (a tag with its attributes)
// and ends at the matching close of the same tag name; empty when there is none.
inline std::string Element(const std::string& dom, const std::string& open) {
  const size_t start = dom.find(open);
  if (start == std::string::npos) return "";
  const std::string tag = open.substr(1, open.find_first_of(" >") - 1);
  size_t depth = 0, at = start;
  while (at < dom.size()) {
    const size_t next_open = dom.find("<" + tag, at + 1);
    const size_t next_close = dom.find("</" + tag + ">", at + 1);
    if (next_close == std::string::npos) return "";
    if (next_open != std::string::npos && next_open < next_close) {
      ++depth;
      at = next_open;
      continue;
    }
    if (depth == 0) return dom.substr(start, next_close + tag.size() + 3 - start);
    --depth;
    at = next_close;
  }
  return "";
}

// The values of attribute `name` in `html`, in document order. `name` must start a word (follow
// a space or a '<'), so "x" is not found inside "rx", and "tr data-span" picks only <tr> rows.
inline std::vector<std::string> AttributeValues(const std::string& html, const std::string& name) {
  std::vector<std::string> out;
  const std::string key = name + "=\"";
  for (size_t at = html.find(key); at != std::string::npos; at = html.find(key, at + 1)) {
    if (at > 0 && html[at - 1] != ' ' && html[at - 1] != '<') continue;
    const size_t from = at + key.size();
    out.push_back(html.substr(from, html.find('"', from) - from));
  }
  return out;
}

}  // namespace mesh::interop
