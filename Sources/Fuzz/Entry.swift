import Foundation

#if FUZZING
// Built by scripts/fuzz with libFuzzer (`-sanitize=fuzzer,address -DFUZZING`): SwiftPM names the
// executable's entry point `neurotop_fuzz_main`; it hands the command line to libFuzzer's driver
// with the target chosen by NEUROTOP_FUZZ_TARGET.
@_silgen_name("LLVMFuzzerRunDriver")
func fuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

nonisolated(unsafe) private var fuzzTarget: ((Data) throws -> Void)?

@_cdecl("neurotop_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    let name = ProcessInfo.processInfo.environment["NEUROTOP_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTargets.named(name) else {
        FileHandle.standardError.write(Data("neurotop-fuzz: set NEUROTOP_FUZZ_TARGET to one of \(FuzzTargets.all.map(\.name).joined(separator: ", "))\n".utf8))
        return 2
    }
    fuzzTarget = target
    var count = argc
    var arguments = argv
    return fuzzerRunDriver(&count, &arguments) { start, size in
        let data = start.map { Data(bytes: $0, count: size) } ?? Data()
        try? fuzzTarget?(data)
        return 0
    }
}
#else
/// Without libFuzzer: `neurotop-fuzz TARGET FILE...` runs each file through the target once, as the
/// fuzzer would (the committed corpora and every crash found are replayed this way by the tests).
@main
struct Replay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = FuzzTargets.named(name) else {
            print("usage: neurotop-fuzz TARGET FILE...   (targets: \(FuzzTargets.all.map(\.name).joined(separator: ", ")))")
            exit(2)
        }
        var rejected = 0
        for file in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: file) else {
                print("neurotop-fuzz: cannot read \(file)")
                exit(1)
            }
            do { try target(data) } catch { rejected += 1 }
        }
        print("\(name): \(arguments.count - 1) inputs, \(rejected) rejected with an error, no crash")
    }
}
#endif
