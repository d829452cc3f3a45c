import Foundation
import NomadModel
import NomadTransport
import Testing
@testable import NomadEngine
@testable import NomadServer

/// The HTML status page on the admin listener.
@Suite(.serialized)
struct StatusPageTests {
    @Test func thePageListsEveryLocationWithItsState() async throws {
        let pair = try await ServedPair.start()
        let response = try await URLSessionTransport(timeout: 5).send(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(pair.adminPort)/status/alice"))
        let page = String(decoding: response.body, as: UTF8.self)
        #expect(response.status == 200)
        #expect(page.hasPrefix("<!DOCTYPE html>") && !page.contains("<script"))
        // States move while the node runs: each location is listed with one state badge.
        let locations = try pair.b.site.syncStatus(nickname: "alice").locations
        for location in locations { #expect(page.contains(location.url)) }
        #expect(page.components(separatedBy: "<span class=\"state ").count - 1 == locations.count)
        await pair.stop()
    }

    @Test func anUnknownChannelsPageIsAJSON404() async throws {
        let pair = try await ServedPair.start()
        let response = try await URLSessionTransport(timeout: 5).send(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(pair.adminPort)/status/nobody"))
        #expect(response.status == 404)
        #expect(try WireJSON.decode(ErrorBody.self, from: String(decoding: response.body, as: UTF8.self), what: "error").success == false)
        await pair.stop()
    }

    @Test func theChartDrawsOneLinePerOtherLocationFromTheSamples() async throws {
        let pair = try await ServedPair.start()
        let history = LagHistory(capacity: 3)
        var status = try pair.b.site.syncStatus(nickname: "alice")
        for (time, lag) in [(1_000, 5), (2_000, 9), (3_000, 2), (4_000, 0)] as [(UInt64, UInt64)] {
            for i in status.locations.indices where !status.locations[i].isSelf { status.locations[i].lagEntries = lag }
            history.record(status, at: time)
        }
        #expect(history.samples(of: "alice").map(\.time) == [2_000, 3_000, 4_000])
        let page = StatusPage.render(site: "http://b.example", statuses: [status], history: history, single: true)
        #expect(page.components(separatedBy: "<polyline").count - 1 == status.locations.filter { !$0.isSelf }.count)
        #expect(page.contains(">9</text>"))
        await pair.stop()
    }

    @Test func aClockThatSteppedBackDrawsWithoutTrapping() async throws {
        let pair = try await ServedPair.start()
        let status = try pair.b.site.syncStatus(nickname: "alice")
        let history = LagHistory()
        for time in [5_000, 9_000, 2_000, 10_000] as [UInt64] { history.record(status, at: time) }
        #expect(StatusPage.render(site: "http://b.example", statuses: [status], history: history, single: true).contains("<polyline"))
        await pair.stop()
    }

    @Test func textFromTheWireIsEscaped() {
        #expect(StatusPage.escape(#"<img src=x onerror="a">&'"#) == "&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;")
    }
}
