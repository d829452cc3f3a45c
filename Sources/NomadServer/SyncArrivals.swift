import Foundation
import NomadModel

/// Sync packets of one channel from one site that are in this server at the same time go to the
/// writer in the order of their entries.
///
/// A sending site keeps several packets in flight, each handled on its own connection, and the
/// one with the later entries can reach the writer first: its entries are then held for the gap
/// (written to `pending`) and replayed again when the earlier packet fills it. In a catch-up one
/// packet in nine went that way, and holding and releasing them was 7% of the receiving site's
/// CPU, all of it in the writer. A packet therefore waits, without a thread, while another packet
/// of the same channel and site that came in before it is still being opened, or one with lower
/// entries of a shared origin is still being accepted. Waits only ever point at an earlier
/// arrival still being opened (which waits for nothing here) or at a packet with a lower first
/// entry, so they never form a cycle; each is also bounded by `longestWait`.
///
/// ```swift
/// let ticket = await arrivals.arrive(channel: envelope.sender.text, site: envelope.siteID.text)
/// // … open the packet and verify its signature …
/// await arrivals.opened(ticket, entries: opened.data.entries)
/// await arrivals.turn(ticket)
/// // … accept it; then, on every path, accepted or refused:
/// await arrivals.leave(ticket)
/// ```
actor SyncArrivals {
    /// A packet in this server: who sent it, when it came, and once opened, its lowest seq of
    /// each origin.
    private struct Arrival {
        var sender: Sender
        var first: [OriginID: UInt64]?
        /// The lowest (origin, seq) of its entries: the order packets with entries go in.
        var key: (origin: String, seq: UInt64)?
    }

    private struct Sender: Hashable {
        var channel: String
        var site: String
    }

    /// A waiting packet goes ahead after this long whatever is in front of it (its entries are
    /// then held for the gap, as without this order).
    let longestWait: Duration
    private var arrivals: [UInt64: Arrival] = [:]
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var expired: Set<UInt64> = []
    private var next: UInt64 = 0

    init(longestWait: Duration = .seconds(1)) {
        self.longestWait = longestWait
    }

    /// Registers a packet as soon as its envelope names the channel and the sending site (before
    /// it is opened); returns its ticket, in the order packets came.
    func arrive(channel: String, site: String) -> UInt64 {
        next += 1
        arrivals[next] = Arrival(sender: Sender(channel: channel, site: site))
        return next
    }

    /// The packet opened: its entries decide which packets it waits for, and which wait for it.
    func opened(_ ticket: UInt64, entries: [ChangeEntry]) {
        guard var arrival = arrivals[ticket] else { return }
        var first: [OriginID: UInt64] = [:]
        for entry in entries where entry.seq < first[entry.origin, default: .max] { first[entry.origin] = entry.seq }
        arrival.first = first
        arrival.key = first.map { (origin: $0.key.text, seq: $0.value) }.min { ($0.origin, $0.seq) < ($1.origin, $1.seq) }
        arrivals[ticket] = arrival
        wakeAll()
    }

    /// Returns when no packet the ticket's packet must follow is still in this server (or after
    /// `longestWait`).
    func turn(_ ticket: UInt64) async {
        guard mustWait(ticket) else { return }
        let wait = longestWait
        Task { [weak self] in
            try? await Task.sleep(for: wait)
            await self?.expire(ticket)
        }
        while mustWait(ticket) {
            await withCheckedContinuation { waiters[ticket] = $0 }
        }
    }

    /// The packet was accepted or refused: whoever waited for it goes on.
    func leave(_ ticket: UInt64) {
        arrivals[ticket] = nil
        expired.remove(ticket)
        waiters.removeValue(forKey: ticket)?.resume()
        wakeAll()
    }

    /// Packets in this server (for tests: every path leaves).
    var count: Int { arrivals.count }

    private func expire(_ ticket: UInt64) {
        guard arrivals[ticket] != nil else { return }
        expired.insert(ticket)
        waiters.removeValue(forKey: ticket)?.resume()
    }

    private func wakeAll() {
        let resumed = waiters
        waiters = [:]
        for continuation in resumed.values { continuation.resume() }
    }

    private func mustWait(_ ticket: UInt64) -> Bool {
        guard !expired.contains(ticket), let mine = arrivals[ticket], let first = mine.first, let key = mine.key else { return false }
        return arrivals.contains { other, arrival in
            guard other != ticket, arrival.sender == mine.sender else { return false }
            guard let theirs = arrival.first, let theirKey = arrival.key else {
                // Still being opened: an earlier one may hold the entries before ours.
                return arrival.first == nil && other < ticket
            }
            guard (theirKey.origin, theirKey.seq, other) < (key.origin, key.seq, ticket) else { return false }
            return theirs.contains { origin, seq in first[origin].map { seq < $0 } ?? false }
        }
    }
}
