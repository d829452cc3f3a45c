import Foundation
import NomadEngine

/// The HTML status page (`GET /status`, `GET /status/{nick}` on the admin listener): each
/// location's state, lag, outbox, last contact and last error, the channel's missing blobs and
/// queued messages, and each location's lag over time as an inline SVG chart. Plain HTML and
/// CSS, no JavaScript; it refreshes itself every 10 seconds.
enum StatusPage {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

    static func render(site url: String, statuses: [SyncStatus], history: LagHistory, single: Bool) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="10">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>nomadsync status\(single ? " — " + escape(statuses.first?.nickname ?? "") : "")</title>
            <style>
            body{font:15px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:70em}
            h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.6em 0 .3em}
            .site{color:#666;margin-bottom:1em}
            table{border-collapse:collapse;width:100%;margin:.4em 0}
            th,td{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
            th{background:#f4f4f4;font-weight:600}
            .state{font-weight:600;padding:.05em .45em;border-radius:.3em;color:#fff}
            .online{background:#2e7d32}.catching-up{background:#ef6c00}.offline{background:#757575}
            .diverged{background:#c62828}.refusing{background:#ad1457}
            .facts span{margin-right:1.5em}.alarm{color:#c62828;font-weight:600}
            .err{color:#a00;font-size:.9em;max-width:28em;word-break:break-word}
            svg{background:#fafafa;border:1px solid #ddd}
            </style></head><body>
            <h1>nomadsync status</h1>
            <div class="site">\(escape(url)) · \(statuses.count) channel\(statuses.count == 1 ? "" : "s") · \(escape(Self.now()))</div>

            """
        if statuses.isEmpty { html += "<p>No channel is hosted here yet.</p>\n" }
        for status in statuses { html += section(status, samples: history.samples(of: status.nickname), linked: !single) }
        html += "</body></html>\n"
        return html
    }

    static func section(_ status: SyncStatus, samples: [LagHistory.Sample], linked: Bool) -> String {
        let title = linked ? "<a href=\"status/\(escape(status.nickname))\">\(escape(status.nickname))</a>" : escape(status.nickname)
        var html = "<h2>\(title)</h2>\n<div class=\"facts\">"
        html += "<span>entries <b>\(status.entries)</b></span><span>outbox <b>\(status.outbox)</b></span>"
        html += "<span>missing blobs <b>\(status.missingBlobs)</b></span><span>queued messages <b>\(status.messages)</b></span>"
        html += "<span>digest <code>\(escape(String(status.digest.prefix(16))))…</code></span>"
        if status.retired { html += "<span class=\"alarm\">retired here</span>" }
        if status.purged { html += "<span class=\"alarm\">purged</span>" }
        if let diverged = status.diverged { html += "<span class=\"alarm\">diverged: \(escape(diverged))</span>" }
        html += "</div>\n<table><tr><th>location</th><th>state</th><th>lag (entries)</th><th>outbox</th><th>last heard</th><th>last error</th></tr>\n"
        for location in status.locations {
            let name = escape(location.address) + (location.primary ? " <small>(primary)</small>" : "") + (location.isSelf ? " <small>(this site)</small>" : "")
            let state = location.state.rawValue + (location.progress.map { String(format: " %.0f%%", $0) } ?? "")
            html += "<tr><td>\(name)<br><small>\(escape(location.url))</small></td>"
            html += "<td><span class=\"state \(location.state.rawValue)\">\(escape(state))</span></td>"
            html += "<td>\(location.isSelf ? "—" : String(location.lagEntries))</td><td>\(location.isSelf ? "—" : String(location.outbox))</td>"
            html += "<td>\(location.isSelf ? "—" : escape(location.lastHeard ?? "never"))</td><td class=\"err\">\(escape(location.lastError ?? ""))</td></tr>\n"
        }
        html += "</table>\n" + chart(samples, locations: status.locations.filter { !$0.isSelf }.map(\.url))
        return html
    }

    /// Lag in entries per location over the kept samples, one polyline each, with a legend.
    static func chart(_ samples: [LagHistory.Sample], locations: [String]) -> String {
        let width = 640.0, height = 160.0, left = 48.0, bottom = 22.0, top = 10.0
        guard samples.count >= 2, !locations.isEmpty, let first = samples.first?.time, let last = samples.last?.time, last > first else {
            return "<p><small>The lag chart appears after two samples (one every 10 seconds).</small></p>\n"
        }
        let peak = max(1, samples.flatMap { $0.lag.values }.max() ?? 1)
        let span = Double(last - first)
        // A wall clock can step back between samples: place such a point at the edge, never trap.
        func x(_ t: UInt64) -> Double { left + (width - left - 8) * min(1, max(0, (Double(t) - Double(first)) / span)) }
        func y(_ lag: UInt64) -> Double { top + (height - top - bottom) * (1 - Double(lag) / Double(peak)) }
        var svg = "<svg role=\"img\" aria-label=\"lag in entries over time\" width=\"\(Int(width))\" height=\"\(Int(height + 18 * Double(locations.count)))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        svg += "<text x=\"4\" y=\"\(top + 10)\" font-size=\"11\">\(peak)</text><text x=\"4\" y=\"\(height - bottom)\" font-size=\"11\">0</text>\n"
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - 8)\" y2=\"\(height - bottom)\" stroke=\"#999\"/>\n"
        svg += "<text x=\"\(left)\" y=\"\(height - 6)\" font-size=\"11\">−\(Int(span / 1000)) s</text><text x=\"\(width - 40)\" y=\"\(height - 6)\" font-size=\"11\">now</text>\n"
        for (index, url) in locations.enumerated() {
            let colour = palette[index % palette.count]
            let points = samples.map { String(format: "%.1f,%.1f", x($0.time), y($0.lag[url] ?? 0)) }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(points)\"/>\n"
            let legendY = height + 14 + 18 * Double(index)
            svg += "<rect x=\"\(left)\" y=\"\(legendY - 9)\" width=\"12\" height=\"4\" fill=\"\(colour)\"/>"
            svg += "<text x=\"\(left + 18)\" y=\"\(legendY - 4)\" font-size=\"12\">\(escape(url))</text>\n"
        }
        return svg + "</svg>\n"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func now() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted))
    }
}
