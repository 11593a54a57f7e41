// Process signals for long-running commands: SIGINT/SIGTERM request a clean stop (the handler
// only sets a flag; blocking reads and sleeps return early), and SIGPIPE is ignored so that a
// closed pipe (`| head`) shows up as EPIPE on write. Process-wide; call Install once in main.
#pragma once

#include <chrono>

namespace mesh {

void InstallStopHandlers();
bool StopRequested();
// Sleeps for d unless a stop is requested first. Returns false when stopped.
bool SleepUnlessStopped(std::chrono::milliseconds d);

}  // namespace mesh
