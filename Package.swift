// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "neurotop",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "neurotop", targets: ["neurotop"]),
        .library(name: "Engine", targets: ["Engine"]),
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
        // The layers, each importing only those below it: the compiler keeps the arrows one way.
        .target(name: "Tensors", dependencies: ["CBLAS"]),
        .target(name: "Tokenizers", dependencies: ["Tensors"]),
        .target(name: "Checkpoints", dependencies: ["Tensors", "Tokenizers"]),
        .target(name: "Model", dependencies: ["Tensors", "Tokenizers", "Checkpoints"]),
        .target(name: "Analysis", dependencies: ["Tensors", "Tokenizers", "Checkpoints", "Model"]),
        .target(name: "Engine", dependencies: ["Tensors", "Tokenizers", "Checkpoints", "Model", "Analysis", "CSQLite", "CPostgres"]),
        .target(name: "TUI", dependencies: ["Tokenizers", "Checkpoints", "Model", "Analysis", "Engine", "CNcurses"]),
        .executableTarget(
            name: "neurotop",
            dependencies: [
                "Tensors", "Tokenizers", "Checkpoints", "Model", "Analysis", "Engine", "TUI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Every parser of outside input as a fuzz target: replays inputs in an ordinary build,
        // runs under libFuzzer when scripts/fuzz builds it with -DFUZZING.
        .executableTarget(name: "neurotop-fuzz", dependencies: ["Tokenizers", "Checkpoints", "Model", "Analysis", "Engine", "TUI"], path: "Sources/Fuzz"),
        .testTarget(name: "MetricsTests", dependencies: ["Tensors", "Tokenizers", "Checkpoints", "Model", "Analysis", "Engine", "CSQLite"]),
        .testTarget(name: "TUITests", dependencies: ["TUI", "Tokenizers", "Checkpoints", "Model", "Analysis", "Engine"]),
        .testTarget(name: "CLITests", dependencies: ["Tensors", "Tokenizers", "Checkpoints", "Model", "Analysis", "Engine"]),
    ],
    swiftLanguageModes: [.v5]
)
