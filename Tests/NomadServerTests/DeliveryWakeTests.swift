import Testing
@testable import NomadServer

/// The worker's wait between passes ends early when a change is appended in-process.
/// The time limit is generous: on a loaded two-core machine the other tests can hold the runner
/// for a minute; a lost signal still fails it, since the wait would last an hour.
@Suite(.timeLimit(.minutes(3))) struct DeliveryWakeTests {
    @Test func aSignalEndsALongWait() async {
        let wake = DeliveryWake()
        let waiting = Task { await wake.wait(milliseconds: 3_600_000) }
        for _ in 0..<100 {  // bounded: signal until the waiter has returned
            wake.signal()
            try? await Task.sleep(for: .milliseconds(20))
        }
        await waiting.value  // without the signal this would take an hour and hit the time limit
    }

    @Test func aSignalBeforeTheWaitIsNotLost() async {
        let wake = DeliveryWake()
        wake.signal()
        await wake.wait(milliseconds: 3_600_000)  // returns at once: the change was appended before the wait began
    }

    @Test func withoutASignalTheWaitEndsAfterItsTime() async {
        await DeliveryWake().wait(milliseconds: 10)
    }
}
