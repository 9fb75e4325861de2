// `node --import ./scripts/harness/exit-with-parent.mjs app` makes a child of a test or benchmark
// (a connector, the API server) exit when the process that started it is gone. A benchmark killed
// from outside (Ctrl-C of npm, kill -9, a CI timeout) cannot run its own cleanup, and its children
// then went on burning CPU under the next run. An orphan is re-parented (to init or a subreaper),
// so a changed parent pid is the signal; the check is unref'd so it never keeps the child alive.
// HARNESS_PARENT_PID names the parent when it may die before this file loads (else the parent
// at load time). Harness only: production processes are supervised by their platform.
const parent = Number(process.env.HARNESS_PARENT_PID) || process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
}, 500).unref();
