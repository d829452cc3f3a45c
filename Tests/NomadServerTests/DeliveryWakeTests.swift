import Testing
@testable import NomadServer

/// The worker's wait between passes ends early when a change is appended in-process.
@Suite(.timeLimit(.minutes(1))) struct DeliveryWakeTests {
    @Test func aSignalEndsALongWait() async {
        let wake = DeliveryWake()
        let waiting = Task { await wake.wait(milliseconds: 600_000) }
        for _ in 0..<100 {  // bounded: signal until the waiter has returned
            wake.signal()
            try? await Task.sleep(for: .milliseconds(20))
        }
        await waiting.value  // without the signal this would take ten minutes and hit the time limit
    }

    @Test func aSignalBeforeTheWaitIsNotLost() async {
        let wake = DeliveryWake()
        wake.signal()
        await wake.wait(milliseconds: 600_000)  // returns at once: the change was appended before the wait began
    }

    @Test func withoutASignalTheWaitEndsAfterItsTime() async {
        await DeliveryWake().wait(milliseconds: 10)
    }
}
