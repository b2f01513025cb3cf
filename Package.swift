// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "neurotop",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "neurotop", targets: ["neurotop"]),
        .library(name: "Metrics", targets: ["Metrics"]),
        .library(name: "TUI", targets: ["TUI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "CNcurses", path: "Sources/CNcurses"),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        // libpq, PostgreSQL's own client library (Debian's libpq-dev): synchronous like the SQLite
        // calls, kept by the PostgreSQL project, nothing to build.
        .systemLibrary(name: "CPostgres", path: "Sources/CPostgres"),
        .target(name: "Metrics", dependencies: ["CBLAS", "CSQLite", "CPostgres"]),
        .target(name: "TUI", dependencies: ["Metrics", "CNcurses"]),
        .executableTarget(
            name: "neurotop",
            dependencies: [
                "Metrics", "TUI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Every parser of outside input as a fuzz target: replays inputs in an ordinary build,
        // runs under libFuzzer when scripts/fuzz builds it with -DFUZZING.
        .executableTarget(name: "neurotop-fuzz", dependencies: ["Metrics", "TUI"], path: "Sources/Fuzz"),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "CSQLite"]),
        .testTarget(name: "TUITests", dependencies: ["TUI", "Metrics"]),
        .testTarget(name: "CLITests", dependencies: ["Metrics"]),
    ],
    swiftLanguageModes: [.v5]
)
