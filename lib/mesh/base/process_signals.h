// Process signals for long-running commands: SIGINT/SIGTERM request a clean stop (the handler
// only sets a flag; blocking reads and sleeps return early), and SIGPIPE is ignored so that a
// closed pipe (`| head`) shows up as EPIPE on write. The daemons (meshd, meshproxy) also take
// SIGHUP as a request to reload their configuration (nginx's and Prometheus' convention): the
// handler only sets a flag that their main loop takes. Process-wide; call Install* once in main.
#pragma once

#include <chrono>

namespace mesh {

void InstallStopHandlers();
bool StopRequested();
// SIGHUP sets the reload flag instead of ending the process; SIGPIPE is ignored. For daemons
// only: a CLI left on a closed terminal should still die of its SIGHUP.
void InstallReloadHandler();
// True when a SIGHUP came since the last call (several before one call count as one); clears it.
bool TakeReloadRequest();
// Sleeps for d unless a stop is requested first. Returns false when stopped.
bool SleepUnlessStopped(std::chrono::milliseconds d);

}  // namespace mesh
