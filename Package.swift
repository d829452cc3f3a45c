// swift-tools-version:6.0
// nomadsync — keeps the clones of a nomadic channel mirrored across hosts.
// Imports flow one way: CSodium → NomadCrypto → NomadModel → NomadStore → NomadEngine
//   → NomadTransport (→ NomadHTTPClient, the node's pooled client) → NomadServer → nomadsync. Only NomadEngine imports NomadStore: above it,
//   a channel is an engine `HostedChannel`. NomadFuzzing (fuzz targets), NomadSimulator
//   (seeded multi-site runs) and NomadBench (nomadsync bench; it also reaches the store and
//   SQLite's C API, for the raw reference) sit beside NomadServer.
import PackageDescription

let package = Package(
    name: "nomadsync",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "nomadsync", targets: ["nomadsync"]),
        .library(name: "NomadEngine", targets: ["NomadEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .target(name: "NomadCrypto", dependencies: ["CSodium"]),
        // sync_file_range, which Swift's Glibc module does not export (WALCheckpointer's write-back).
        .target(name: "CWriteback"),
        // sqlite3_config, which is variadic (Store turns SQLite's memory statistics off).
        .target(name: "CSQLiteOptions", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(name: "NomadModel", dependencies: ["NomadCrypto"]),
        .target(
            name: "NomadStore",
            dependencies: [
                "NomadModel", "NomadCrypto", "CWriteback", "CSQLiteOptions", .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the WAL hook (WALCheckpointer).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .target(name: "NomadEngine", dependencies: ["NomadStore", "NomadModel", "NomadCrypto"]),
        .target(
            name: "NomadTransport",
            dependencies: ["NomadModel", "NomadCrypto", .product(name: "Logging", package: "swift-log")]
        ),
        // The outbound HTTP client the node uses: AsyncHTTPClient's pooled keep-alive connections
        // behind NomadTransport's HTTPTransport (URLSessionTransport stays for what it does well).
        .target(
            name: "NomadHTTPClient",
            dependencies: [
                "NomadTransport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Every outside-bytes parser as a fuzz target; ops/fuzz.sh links it into a libFuzzer binary.
        .target(name: "NomadFuzzing", dependencies: ["NomadTransport", "NomadModel", "NomadCrypto"]),
        // Seeded multi-site runs of the engine on a virtual clock and network (nomadsync simulate).
        .target(name: "NomadSimulator", dependencies: ["NomadEngine", "NomadModel", "NomadCrypto"]),
        // nomadsync bench: the hot paths beside raw references (SQLite's C API, libsodium).
        .target(
            name: "NomadBench",
            dependencies: [
                "NomadEngine", "NomadStore", "NomadTransport", "NomadHTTPClient", "NomadModel", "NomadCrypto", "CSodium",
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "NomadServer",
            dependencies: [
                "NomadEngine", "NomadStore", "NomadTransport", "NomadModel", "NomadCrypto",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "nomadsync",
            dependencies: [
                "NomadServer", "NomadTransport", "NomadHTTPClient", "NomadSimulator", "NomadBench",
                "NomadEngine", "NomadModel", "NomadCrypto",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "NomadCryptoTests", dependencies: ["NomadCrypto"]),
        .testTarget(name: "NomadModelTests", dependencies: ["NomadModel", "NomadCrypto"]),
        .testTarget(name: "NomadStoreTests", dependencies: ["NomadStore", "NomadModel", "NomadCrypto", "CWriteback", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift")]),
        .testTarget(name: "NomadEngineTests", dependencies: ["NomadEngine", "NomadStore", "NomadModel", "NomadCrypto"]),
        .testTarget(name: "NomadTransportTests", dependencies: ["NomadTransport", "NomadModel", "NomadCrypto"]),
        .testTarget(
            name: "NomadServerTests",
            dependencies: [
                "NomadServer", "NomadTransport", "NomadHTTPClient", "NomadEngine", "NomadModel", "NomadCrypto",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "NomadFuzzingTests", dependencies: ["NomadFuzzing"]),
        .testTarget(name: "NomadSimulatorTests", dependencies: ["NomadSimulator"]),
        .testTarget(name: "NomadBenchTests", dependencies: ["NomadBench"]),
        // Real processes throughout; the engine and transport only to play a remote channel that
        // sends an activity (no nomadsync command sends one).
        .testTarget(name: "IntegrationTests", dependencies: ["NomadEngine", "NomadModel", "NomadCrypto", "NomadTransport"]),
    ],
    swiftLanguageModes: [.v6]
)
