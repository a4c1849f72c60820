// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "allot",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Allot", targets: ["Allot"]),
        .library(name: "AppleSimulator", targets: ["AppleSimulator"]),
        .library(name: "AppleHTTPClient", targets: ["AppleHTTPClient"]),
        .library(name: "AppleSimulatorServer", targets: ["AppleSimulatorServer"]),
        .library(name: "AppleServiceFactory", targets: ["AppleServiceFactory"]),
        .executable(name: "allot", targets: ["AllotCLI"]),
        .library(name: "AllotServer", targets: ["AllotServer"]),
        .executable(name: "allot-http-load", targets: ["AllotHTTPLoad"]),
        .executable(name: "allot-bench", targets: ["AllotBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // Benchmarks only; its malloc interposer counts allocations.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // The server's request deadlines see a request as head, body and end (NIOHTTPTypes).
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Tests only: reads openapi.yaml to check the server's real answers against its schemas.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // The ledger on PostgreSQL (issue 13).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // GET /metrics (issue 12): the engine counts through swift-metrics, the server renders Prometheus text.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // libsqlite3 from the system: the real SQLite through its C API.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // Value types and decisions, no I/O.
        .target(name: "AllotCore"),
        // A serial executor on a thread of its own, for the actors whose work blocks (SQLite, the PostgreSQL ledger).
        .target(name: "DedicatedThread"),
        // The ledger in SQLite or PostgreSQL; the migrations in schema/ (and schema/postgres/) are compiled in by EmbedSchema.
        .target(
            name: "AllotStore",
            dependencies: [
                "CSQLite", "AllotCore", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            plugins: ["EmbedSchema"]
        ),
        // Apple's Apps and Books service: protocol, wire types, error numbers, limits.
        .target(name: "AppleAppsAndBooks"),
        // A faithful stand-in for Apple's service, its state in its own SQLite file; it posts
        // Apple's notifications over HTTP.
        .target(
            name: "AppleSimulator",
            dependencies: [
                "AppleAppsAndBooks", "CSQLite", "DedicatedThread",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // Apple's service over HTTP (Apple itself, or a served simulator).
        .target(
            name: "AppleHTTPClient",
            dependencies: [
                "AppleAppsAndBooks",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // A deadline for every phase of an HTTP request: one rule for `allot serve` and the served simulator.
        .target(
            name: "HTTPDeadlines",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        // The simulator behind Apple's paths and JSON, on loopback.
        .target(
            name: "AppleSimulatorServer",
            dependencies: [
                "AppleAppsAndBooks", "AppleSimulator", "HTTPDeadlines",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // `--apple sim:PATH` or `--apple https://…`: one place that turns the spec into a service.
        .target(name: "AppleServiceFactory", dependencies: ["AppleAppsAndBooks", "AppleSimulator", "AppleHTTPClient"]),
        // The engine facade.
        .target(
            name: "Allot",
            dependencies: [
                "AllotCore", "AllotStore", "AppleAppsAndBooks", "DedicatedThread",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The published JSON views: one set of types for the CLI's --json and the HTTP API.
        .target(name: "AllotViews", dependencies: ["Allot", "AllotCore", "AllotStore"]),
        .executableTarget(
            name: "AllotCLI",
            dependencies: [
                "Allot", "AllotCore", "AllotViews", "AppleAppsAndBooks", "AppleSimulator", "AppleServiceFactory", "AppleSimulatorServer", "AllotServer",
                "DedicatedThread",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The HTTP API for backend services (issue 7).
        .target(
            name: "AllotServer",
            dependencies: [
                "Allot", "AllotCore", "AllotViews", "HTTPDeadlines",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // The webhook sender posts events to the tenants' receivers.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            // Served at GET /openapi.yaml; a link to the repository's document, so there is one copy.
            resources: [.embedInCode("openapi.yaml")]
        ),
        // Load over loopback HTTP against the in-process engine, in one run.
        .executableTarget(
            name: "AllotHTTPLoad",
            dependencies: [
                "Allot", "AllotCore", "AllotServer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Benchmarks/AllotHTTPLoad"
        ),
        .executableTarget(name: "EmbedSchemaTool"),
        .plugin(name: "EmbedSchema", capability: .buildTool(), dependencies: ["EmbedSchemaTool"]),

        // The child process of the crash tests: writes batches until it is killed.
        .executableTarget(name: "LedgerCrashWriter", dependencies: ["Allot", "AllotStore", "AllotCore"], path: "Tests/LedgerCrashWriter"),
        // Benchmarks (DESIGN.md, Performance). The workloads are shared; `allot-bench` prints the
        // side-by-side table without the Benchmark package, so it builds fast.
        .target(
            name: "BenchmarkSupport",
            // The engine's workflows (`Workflows`) over a bare ledger.
            dependencies: ["Allot", "AllotCore", "AllotStore", "CSQLite"],
            path: "Benchmarks/BenchmarkSupport"
        ),
        .executableTarget(
            name: "AllotBench",
            dependencies: [
                "BenchmarkSupport", "AllotCore", "AllotStore",
                // --http-push: the engine against the served simulator over HTTP.
                "Allot", "AppleAppsAndBooks", "AppleSimulator", "AppleSimulatorServer", "AppleHTTPClient",
                // --fleet-push-floor: raw rows into the simulator's state file.
                "CSQLite",
                .product(name: "Crypto", package: "swift-crypto"),
                // --fleet-push: an HTTP client whose pool holds every lane's call in flight.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // --postgres: the bulk-insert limit binds arrays for unnest.
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Benchmarks/AllotBench"
        ),
        .executableTarget(
            name: "AllotBenchmarks",
            dependencies: [
                "BenchmarkSupport", "Allot", "AllotCore", "AllotStore",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/AllotBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),

        .testTarget(name: "AllotCoreTests", dependencies: ["AllotCore"]),
        // A throw-away PostgreSQL cluster, for the store and CLI suites alike.
        .target(name: "PostgresTestCluster", path: "Tests/PostgresTestCluster"),
        // The tests' wait bounds, from one place, scaled by ALLOT_TEST_TIME_SCALE.
        .target(name: "TestDeadlines", path: "Tests/TestDeadlines"),
        // The store's suites run the engine's workflows (`Workflows`) over a bare ledger.
        .testTarget(name: "AllotStoreTests", dependencies: ["Allot", "AllotStore", "AllotCore", "CSQLite", "PostgresTestCluster", "TestDeadlines"]),
        .testTarget(
            name: "AllotTests",
            dependencies: [
                "Allot", "AllotCore", "AllotStore", "AppleAppsAndBooks", "AppleSimulator",
                "AppleHTTPClient", "AppleSimulatorServer", "PostgresTestCluster", "TestDeadlines",
            ]
        ),
        .testTarget(
            name: "AllotServerTests",
            dependencies: [
                "TestDeadlines",
                "AllotServer", "Allot", "AllotCore", "AppleAppsAndBooks", "AppleSimulator", "HTTPDeadlines",
                .product(name: "Crypto", package: "swift-crypto"),
                // The test receiver of webhook posts.
                .product(name: "Hummingbird", package: "hummingbird"),
                // A registry per test, so GET /metrics shows that test's counts only.
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                // RequestDeadlineHandlerTests: the request deadlines on a channel with a clock of its own.
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        .testTarget(name: "AppleSimulatorTests", dependencies: [
            "AppleSimulator", "AppleAppsAndBooks",
            // AnswerDelayTests: a second connection holds the state file's write lock.
            "CSQLite",
        ]),
        .testTarget(
            name: "AppleHTTPClientTests",
            dependencies: [
                "TestDeadlines",
                "AppleAppsAndBooks", "AppleHTTPClient", "AppleSimulator", "AppleSimulatorServer", "AppleServiceFactory",
                // The engine's state after recorded answers (issue 17: Apple's documented shapes).
                "Allot", "AllotCore", "AllotStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Runs the built `allot` binary as a subprocess: no module dependency, only the product.
        .testTarget(name: "AllotCLITests", dependencies: ["PostgresTestCluster", "TestDeadlines"]),
    ],
    swiftLanguageModes: [.v6]
)
