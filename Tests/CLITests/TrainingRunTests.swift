import Foundation
import Testing

/// The rise along training: `train-demo --checkpoints` keeps a run's checkpoints, and `compare` on
/// the run's folder puts them in step order with peak PSS against accuracy. A few steps only, on 8
/// of the demo's concepts: the numbers are of an untrained model, the plumbing is what is checked.
@Suite struct TrainingRunCommands {
    let domains = Neurotop.fixture("domains")

    func temporary() -> String {
        let folder = NSTemporaryDirectory() + "neurotop-run-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    func json(_ result: Neurotop.Result) throws -> [String: Any] {
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    @Test func checkpointsOfTheDemoRunAreComparedInStepOrder() throws {
        let folder = temporary(), run = folder + "/run"
        // 12 steps, 3 checkpoints: step-4, step-8, step-12, which sort by name as 12, 4, 8.
        let trained = try Neurotop.run(["train-demo", "--out", run, "--steps", "12", "--checkpoints", "3", "--batch-size", "4"])
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(trained.stdout.contains("3 checkpoints in it: step-4, step-8, step-12"), "\(trained.stdout)")
        let files = ["config.json", "model.safetensors", "tokenizer.json"]
        for step in [4, 8, 12] {
            let names = try FileManager.default.contentsOfDirectory(atPath: run + "/step-\(step)").sorted()
            #expect(names == files, "step-\(step): \(names)")
            let info = try Neurotop.run(["info", run + "/step-\(step)"])
            #expect(info.status == 0, "step-\(step) loads: \(info.stderr)")
        }
        // The last checkpoint is the final model, which the run's folder holds as before.
        for name in files {
            #expect(FileManager.default.contentsEqual(atPath: run + "/step-12/" + name, andPath: run + "/" + name), "\(name)")
        }
        #expect(FileManager.default.contentsEqual(atPath: run + "/step-4/tokenizer.json", andPath: run + "/tokenizer.json"))
        #expect(!FileManager.default.contentsEqual(atPath: run + "/step-4/model.safetensors", andPath: run + "/model.safetensors"))
        // The same seed writes the same checkpoints, byte for byte.
        let again = folder + "/again"
        #expect(try Neurotop.run(["train-demo", "--out", again, "--steps", "12", "--checkpoints", "3", "--batch-size", "4"]).status == 0)
        for step in [4, 8, 12] {
            for name in files {
                #expect(FileManager.default.contentsEqual(atPath: run + "/step-\(step)/" + name, andPath: again + "/step-\(step)/" + name), "step-\(step)/\(name)")
            }
        }

        // 8 of the demo's 48 concepts, to keep three analyses short.
        let shipped = Neurotop.repository.appendingPathComponent("data/probes/demo.jsonl").path
        let probes = folder + "/probes.jsonl"
        let lines = try String(contentsOfFile: shipped, encoding: .utf8).split(separator: "\n").prefix(64)
        try (lines.joined(separator: "\n") + "\n").write(toFile: probes, atomically: true, encoding: .utf8)
        let options = ["--probes", probes, "--domains", domains, "--samples", "2", "--store", folder + "/store.sqlite"]

        let figures = folder + "/figures"
        let compared = try json(Neurotop.run(["compare", run, "--json", "--svg", figures] + options))
        let sections = try #require(compared["models"] as? [[String: Any]])
        #expect(sections.map { $0["model"] as? String } == [4, 8, 12].map { run + "/step-\($0)" })
        // The correlation is over the models with both a peak PSS and the accuracy PSS is computed from.
        let points = sections.compactMap { section -> (Double, Double)? in
            guard let peak = (section["peak_pss"] as? [String: Any])?["pss"] as? Double,
                  let accuracy = (section["accuracy"] as? [String: Any])?["mcq"] as? Double else { return nil }
            return (peak, accuracy)
        }
        let rise = try #require(compared["rise"] as? [String: Any])
        #expect(rise["n"] as? Int == points.count && points.count == 3, "\(rise)")
        #expect(rise["accuracy"] as? String == "mcq")
        if let pearson = rise["pearson"] as? Double {
            let (x, y) = (points.map(\.0), points.map(\.1))
            let (mx, my) = (x.reduce(0, +) / 3, y.reduce(0, +) / 3)
            let covariance = zip(x, y).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
            let expected = covariance / (x.reduce(0) { $0 + ($1 - mx) * ($1 - mx) } * y.reduce(0) { $0 + ($1 - my) * ($1 - my) }).squareRoot()
            #expect(abs(pearson - expected) < 1e-9)
        } else {
            #expect(rise["pearson"] is NSNull && rise["spearman"] is NSNull)
            #expect(Set(points.map(\.0)).count == 1 || Set(points.map(\.1)).count == 1, "undefined only for a constant list")
        }

        // The text reads the same analyses back: a column a checkpoint, labelled by its step.
        let text = try Neurotop.run(["compare", run, "--text"] + options)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.split(separator: "\n").first?.split(separator: " ").map(String.init) == ["step", "4", "step", "8", "step", "12"],
                "\(text.stdout)")
        #expect(text.stdout.contains("peak PSS against mcq accuracy across the models\n  Pearson "), "\(text.stdout)")
        #expect(text.stdout.contains("\n  n = 3 models\n"))

        // The figure: a point and an error bar for each model's peak and accuracy, in step order.
        let svg = try String(contentsOfFile: figures + "/rise.svg", encoding: .utf8)
        #expect(svg.components(separatedBy: "class=\"errorbar\"").count - 1 == 2 * 3)
        #expect(svg.components(separatedBy: "<polyline class=\"series\"").count - 1 == 2, "one run: a line for the peaks, one for the accuracies")
        let ticks = svg.components(separatedBy: "<text class=\"xtick\"").dropFirst().compactMap { part in
            part.range(of: ">").flatMap { start in part.range(of: "</text>").map { String(part[start.upperBound..<$0.lowerBound]) } }
        }
        #expect(ticks == ["step 4", "step 8", "step 12"])
        for (section, step) in zip(sections, [4, 8, 12]) {
            let peak = try #require(section["peak_pss"] as? [String: Any])
            let accuracy = try #require((section["accuracy"] as? [String: Any])?["mcq"] as? Double)
            #expect(svg.contains("step \(step): peak PSS \(String(format: "%.4f", try #require(peak["pss"] as? Double)))"), "\(step)")
            #expect(svg.contains("step \(step): mcq accuracy \(String(format: "%.4f", accuracy))"), "\(step)")
            let n = try #require(peak["n"] as? Int)
            #expect(svg.contains("step \(step): peak PSS rests on") == (n < 5), "n printed where fewer than 5 concepts")
        }
        #expect(svg.contains("across the models: Pearson") && svg.contains("n = 3 models"))
    }

    @Test func checkpointsMustFitTheSteps() throws {
        for count in ["9", "0"] {
            let result = try Neurotop.run(["train-demo", "--out", temporary() + "/run", "--steps", "8", "--checkpoints", count])
            #expect(result.status != 0)
            #expect(result.stderr.contains("--checkpoints must be from 1 to the number of steps (8)"), "\(result.stderr)")
        }
    }
}
