import Foundation
import Checkpoints
import Model
import Tensors

/// A small deterministic random generator (SplitMix64), so that a seed reproduces a training run.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }

    /// A standard normal sample (Box–Muller).
    public mutating func normal() -> Float {
        let u1 = Double(next() >> 11) / Double(1 << 53) + 1e-300
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

/// Settings of a training run.
public struct TrainingOptions: Sendable {
    public var steps = 3000
    public var batchSize = 32
    public var learningRate: Float = 3e-3
    public var finalLearningRate: Float = 3e-4
    public var warmupSteps = 100
    public var beta1: Float = 0.9
    public var beta2: Float = 0.98
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0
    public var seed: UInt64 = 0

    public init() {}

    /// Linear warm-up, then cosine decay to `finalLearningRate`.
    func learningRate(at step: Int) -> Float {
        if step < warmupSteps { return learningRate * Float(step + 1) / Float(warmupSteps) }
        let progress = Float(step - warmupSteps) / Float(max(steps - warmupSteps, 1))
        return finalLearningRate + 0.5 * (learningRate - finalLearningRate) * (1 + cos(Float.pi * min(progress, 1)))
    }
}

/// Trains a model held in memory with Adam on the next-token loss of token sequences.
public final class Trainer {
    public let config: ModelConfig
    public let parameters: ParameterSet
    public let model: Transformer
    private let options: TrainingOptions
    private var generator: SeededGenerator
    private var firstMoment: [String: Buffer] = [:]
    private var secondMoment: [String: Buffer] = [:]
    private var gradients: [String: Buffer] = [:]
    public private(set) var step = 0

    /// A new model of `config` with weights drawn from N(0, 0.02) (residual outputs scaled by
    /// 1/√(2·blocks), as GPT-2 does), norms at one and biases at zero.
    public init(config: ModelConfig, options: TrainingOptions) throws {
        self.config = config
        self.options = options
        generator = SeededGenerator(seed: options.seed)
        let parameters = ParameterSet()
        let architecture = try Architecture(newModel: config)
        let normWeights = architecture.normWeights
        let residualOutputs = architecture.residualOutputWeights
        let residualScale = 1 / Float(2 * config.layerCount).squareRoot()
        for (name, shape) in architecture.expectedShapes {
            let buffer = Buffer(count: shape.reduce(1, *))
            if normWeights.contains(name) {
                for i in 0..<buffer.count { buffer[i] = 1 }
            } else if shape.count == 2 {
                let scale: Float = residualOutputs.contains(name) ? 0.02 * residualScale : 0.02
                for i in 0..<buffer.count { buffer[i] = scale * generator.normal() }
            }
            parameters.add(name, shape: shape, buffer)
            firstMoment[name] = Buffer(count: buffer.count)
            secondMoment[name] = Buffer(count: buffer.count)
            gradients[name] = Buffer(count: buffer.count)
        }
        self.parameters = parameters
        model = try Transformer(config: config, parameters: parameters)
    }

    /// One Adam step on a batch drawn from `examples`; returns the batch's mean loss.
    @discardableResult
    public func trainStep(on examples: [[Int]]) throws -> Float {
        let batch = Batch((0..<options.batchSize).map { _ in examples[Int(generator.next() % UInt64(examples.count))] })
        for buffer in gradients.values { buffer.zero() }
        let summary = try model.gradients(of: batch, objective: .nextTokenLoss, scope: .allParameters) { name, values, count in
            guard let target = gradients[name] else { return }
            Ops.add(values, into: target.pointer, count: count)
        }
        let rate = options.learningRate(at: step)
        step += 1
        let (b1, b2) = (options.beta1, options.beta2)
        let correction1 = 1 - pow(b1, Float(step)), correction2 = 1 - pow(b2, Float(step))
        for name in parameters.names {
            let w = parameters.values[name]!.pointer, g = gradients[name]!.pointer
            let m = firstMoment[name]!.pointer, v = secondMoment[name]!.pointer
            let decay = parameters.shapes[name]!.count == 2 ? options.weightDecay : 0
            for i in 0..<parameters.values[name]!.count {
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                let update = (m[i] / correction1) / ((v[i] / correction2).squareRoot() + options.epsilon)
                w[i] -= rate * (update + decay * w[i])
            }
        }
        return summary.value
    }

    /// Mean next-token loss over `examples`, without training (in batches of the training size).
    public func loss(on examples: [[Int]]) throws -> Float {
        var total = 0.0, count = 0
        for start in stride(from: 0, to: examples.count, by: options.batchSize) {
            let chunk = Array(examples[start..<min(start + options.batchSize, examples.count)])
            let predicted = chunk.reduce(0) { $0 + $1.count - 1 }
            total += Double(try model.meanNextTokenLoss(Batch(chunk))) * Double(predicted)
            count += predicted
        }
        return Float(total / Double(max(count, 1)))
    }

    /// Writes the model as a Hugging Face folder's weights (`model.safetensors`, float32).
    public func writeWeights(to path: String) throws {
        var writer = SafetensorsWriter()
        writer.metadata = ["format": "pt"]
        for name in parameters.names {
            writer.add(name, shape: parameters.shapes[name]!, values: parameters.values[name]!.array)
        }
        try writer.write(to: path)
    }
}
