import Testing

/// Every suite that runs real `nomadsync` processes, nested here so that they run one test at a
/// time: each waits on child processes, and several at once held the test runner's few
/// cooperative threads from the in-process server tests running beside them.
@Suite(.serialized) struct RealProcesses {}
