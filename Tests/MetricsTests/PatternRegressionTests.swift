import Foundation
import Analysis
import Checkpoints
import Model
import Tokenizers
import Testing

/// Method 2 on the demo model and the shipped domains, 6 samples a domain (3 steps, resumed by
/// another instance after the first): its figures must stay those recorded from the code before
/// the speed work (issue 24), with the sums in memory (the resume runs the first step again) and
/// in the file (the resume reads them).
@Suite struct PatternRegression {
    @Test(arguments: [true, false])
    func aResumedMultiStepRunKeepsItsRecordedFigures(inMemory: Bool) throws {
        let data = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("data")
        let checkpoint = try Checkpoint(folder: data.appendingPathComponent("models/demo").path)
        let model = try Transformer(checkpoint: checkpoint)
        let tokenizer = try Tokenizer.load(contentsOf: URL(fileURLWithPath: checkpoint.tokenizerPath))
        let corpus = try DomainCorpus.load(folder: data.appendingPathComponent("domains").path)
        var options = ActivationPatterns.Options()
        options.samples = 6
        options.sumsMemoryBudget = inMemory ? 1 << 30 : 0
        let folder = TemporaryFolder()
        let sumsPath = folder.file("sums")

        // The first process: one step, then gone (it holds the sums file while it lives).
        let record = try {
            let first = try ActivationPatterns(model: model, tokenizer: tokenizer, corpus: corpus, options: options, sumsPath: sumsPath)
            #expect(first.sumsInMemory == inMemory)
            try first.step()
            return first.lastStep()
        }()
        let patterns = try ActivationPatterns(model: model, tokenizer: tokenizer, corpus: corpus, options: options, sumsPath: sumsPath)
        let saved = ActivationPatterns.Stored(stepsDone: record.stepsDone, samplesSeen: record.samplesSeen, cosines: record.cosines,
                                              activated: record.activated, activity: record.activity, checksums: record.checksums)
        #expect(try patterns.restore(saved))
        #expect(patterns.stepsDone == 1)
        #expect(FileManager.default.fileExists(atPath: sumsPath) == !inMemory)
        while patterns.stepsDone < patterns.stepCount { try patterns.step() }

        let results = patterns.results()
        func expectClose(_ ours: [Double], _ recorded: [Double], _ what: String) {
            #expect(ours.count == recorded.count, "\(what)")
            for (i, (a, b)) in zip(ours, recorded).enumerated() {
                #expect(abs(a - b) <= 1e-5 * abs(b), "\(what) \(i): \(a) vs \(b)")
            }
        }
        let activated: [[Int]] = [[21796, 21986, 20289, 21873, 20551], [2913, 2273, 2192, 2070, 1814], [2313, 2140, 3396, 3012, 2917],
                                  [2470, 3093, 3615, 2537, 4210]]
        expectClose(patterns.density().activated.joined().map(Double.init), activated.joined().map(Double.init), "activated weights")
        let matrix: [[Double]] = [
            [0.37502646767855063, 0.3434303984598688, 0.35719560724904803, 0.36104273705895806, 0.37228958301816645],
            [0.3434303984598688, 0.4060618852644324, 0.379458444944542, 0.3707497011331204, 0.37169591123135853],
            [0.35719560724904803, 0.379458444944542, 0.538621856119549, 0.4001322345578911, 0.4356754722072326],
            [0.36104273705895806, 0.3707497011331204, 0.4001322345578911, 0.4388282125718239, 0.3994857011485009],
            [0.37228958301816645, 0.37169591123135853, 0.4356754722072326, 0.3994857011485009, 0.44614642958999234],
        ]
        expectClose(Array(results.domainMatrix.joined()), Array(matrix.joined()), "domain matrix")
        expectClose(patterns.neuronActivity().map { $0.reduce(0, +) },
                    [3.3957454789234425, 3.5521105500652292, 3.2156557829977737, 3.4779389490494763, 4.2368526225626955], "Σ u_d")
        let cosines: [[Double]] = [
            [0.43659589852153163, 0.3679020683197122, 0.3979686542662695, 0.409648895560421, 0.42001506202624544, 0.4641536727305715,
             0.4267098012968233, 0.38655569547250224, 0.41010542953238377, 0.580976853664868, 0.42653882067044213, 0.48671435948127256,
             0.5035327924428442, 0.4511090284932311, 0.5000183834283497],
            [0.3932746281711635, 0.38869290798354145, 0.4024814421562852, 0.40914302746647907, 0.4348023440672329, 0.43588617646828665,
             0.4143268307726115, 0.4349841221454267, 0.43487681215312285, 0.5603890626252008, 0.4389858321879219, 0.47697156592318307,
             0.4544759668467442, 0.45156780245553096, 0.49794270615921077],
            [0.4113936643915406, 0.35964555628091244, 0.37248113951604034, 0.37331074916245394, 0.38267248117016534, 0.37769569068419623,
             0.3544157460805885, 0.3604311168851737, 0.351064736763228, 0.49072664397940174, 0.39990270369398323, 0.4233466844405676,
             0.44773578656485363, 0.39756400649595963, 0.4215527311523905],
            [0.2588416796299669, 0.2574810612553092, 0.25585119305759735, 0.2520682760464784, 0.25166844480902223, 0.3465120011746752,
             0.32238140162814477, 0.301027870029379, 0.2907366664766995, 0.5223948642087259, 0.33510158167921705, 0.3556692789839069,
             0.34956830443285375, 0.297701967149282, 0.36507189762001824],
        ]
        let similarity = patterns.similarity()
        expectClose(similarity.flatMap { perPair in patterns.pairs.map { perPair[$0]!.mean } }, Array(cosines.joined()), "mean cos_l")
        #expect(similarity.allSatisfy { perPair in patterns.pairs.allSatisfy { perPair[$0]!.count == ($0.a == $0.b ? 3 : 6) } })
        let jaccard = [0.1, 0.0989010989010989, 0.21428571428571427, 0.16279069767441862, 0.20253164556962025, 0.07777777777777778,
                       0.11764705882352941, 0.053763440860215055, 0.28, 0.16666666666666666]
        expectClose(patterns.pairs.filter { $0.a != $0.b }.map { results.jaccard[0][$0]! }, jaccard, "Jaccard in block 0")
        #expect(results.jaccard.dropFirst().allSatisfy { $0.values.allSatisfy { $0 == 0 } })
    }
}
