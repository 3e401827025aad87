// SPDX-License-Identifier: Apache-2.0
// runlog: inspect, verify, list, summarize, export and generate run logs.
#if canImport(Glibc)
import Glibc
#endif

// A closed pipe (`runlog dump x | head`) shows up as EPIPE on write, which
// Output turns into a quiet exit, instead of killing the process mid-line.
signal(SIGPIPE, SIG_IGN)
RunLogCommand.runAndExit()
