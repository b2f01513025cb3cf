import Foundation
import Analysis
import Checkpoints
import Model
import Tensors
import Testing

@Suite struct HalfPrecision {
    /// Every F16 and BF16 bit pattern, at an odd offset and with a tail shorter than a SIMD
    /// vector: the vectorised widening gives the exact float32 value.
    @Test func wideningIsExactForEveryBitPattern() {
        let patterns = (0...0xFFFF).map { UInt16($0) } + [0x3C00, 0x8001, 0x7BFF]
        var bytes = [UInt8](repeating: 0, count: 1 + 2 * patterns.count)
        for (i, bits) in patterns.enumerated() {
            bytes[1 + 2 * i] = UInt8(bits & 0xFF)
            bytes[2 + 2 * i] = UInt8(bits >> 8)
        }
        var widened = [Float](repeating: 0, count: patterns.count)
        for dtype in [DType.f16, .bf16] {
            bytes.withUnsafeBytes { raw in
                widened.withUnsafeMutableBufferPointer { Widen.toFloat32(dtype, from: raw.baseAddress! + 1, count: patterns.count, into: $0.baseAddress!) }
            }
            var wrong = 0
            for (bits, value) in zip(patterns, widened) {
                let exact = dtype == .f16 ? Float(Float16(bitPattern: bits)) : Float(bitPattern: UInt32(bits) << 16)
                if exact.isNaN ? !value.isNaN : exact.bitPattern != value.bitPattern { wrong += 1 }
            }
            #expect(wrong == 0, "\(dtype.rawValue): \(wrong) patterns widened wrongly")
        }
    }

    /// A BF16 or F16 checkpoint computes what the same (rounded) weights stored as F32 compute:
    /// logits, every block-weight gradient, value vectors and a live ablation, for both storage
    /// layouts, with matrices large enough to be widened in several panels, and with the widened
    /// copies kept as well as widened panel by panel.
    @Test(arguments: [("gpt2", DType.bf16), ("gpt2", .f16), ("llama", .bf16), ("llama", .f16)], [Widening.automatic, .panels])
    func halfPrecisionEqualsTheSameWeightsInF32(_ model: (family: String, dtype: DType), _ widening: Widening) throws {
        let (family, dtype) = model
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("neurotop-half-\(family)-\(dtype.rawValue)-\(widening)-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (config, shapes) = Self.model(family)
        var generator = SeededGenerator(seed: 3)
        var tensors: [(name: String, shape: [Int], bits: [UInt16])] = []
        for (name, shape) in shapes {
            let isNormWeight = shape.count == 1 && (name.contains("ln_") || name.contains("norm")) && name.hasSuffix("weight")
            let values = (0..<shape.reduce(1, *)).map { _ in isNormWeight ? 1 + Float.random(in: -0.1...0.1, using: &generator) : Float.random(in: -0.1...0.1, using: &generator) }
            tensors.append((name, shape, values.map { dtype == .f16 ? Float16($0).bitPattern : UInt16($0.bitPattern >> 16) }))
        }
        var widenedTensors = SafetensorsWriter()
        for tensor in tensors {
            widenedTensors.add(tensor.name, shape: tensor.shape, values: tensor.bits.map { dtype == .f16 ? Float(Float16(bitPattern: $0)) : Float(bitPattern: UInt32($0) << 16) })
        }
        for (sub, write) in [("f32", { try widenedTensors.write(to: $0) }), ("half", { try Self.writeHalf(tensors, dtype, to: $0) })] as [(String, (String) throws -> Void)] {
            let path = folder.appendingPathComponent(sub)
            try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: config).write(to: path.appendingPathComponent("config.json"))
            try write(path.appendingPathComponent("model.safetensors").path)
        }
        let f32 = try Transformer(checkpoint: Checkpoint(folder: folder.appendingPathComponent("f32").path))
        let half = try Transformer(checkpoint: Checkpoint(folder: folder.appendingPathComponent("half").path), widening: widening)
        #expect((half.widenedCopyBytes != nil) == (widening == .automatic), "widened copies kept only when asked for")

        let batch = Batch([(0..<24).map { ($0 * 7) % 64 }])
        let logits = (try #require(try f32.forward(batch, logits: .all)), try #require(try half.forward(batch, logits: .all)))
        #expect(relativeError(logits.1.array, logits.0.array) < 1e-5, "logits")
        var gradients: ([String: [Float]], [String: [Float]]) = ([:], [:])
        _ = try f32.gradients(of: batch) { name, values, count in gradients.0[name] = Array(UnsafeBufferPointer(start: values, count: count)) }
        _ = try half.gradients(of: batch) { name, values, count in gradients.1[name] = Array(UnsafeBufferPointer(start: values, count: count)) }
        #expect(Set(gradients.0.keys) == Set(gradients.1.keys))
        for (name, expected) in gradients.0 {
            #expect(relativeError(try #require(gradients.1[name]), expected) < 1e-4, "gradient of \(name)")
        }
        for neuron in [0, 1234, 4095] {
            #expect(half.valueVector(NeuronID(block: 0, neuron: neuron)) == f32.valueVector(NeuronID(block: 0, neuron: neuron)))
        }
        let ablation = Ablation(zeroing: [NeuronID(block: 0, neuron: 5), NeuronID(block: 0, neuron: 3000)])
        let states = (try f32.state(after: 0, of: batch), try half.state(after: 0, of: batch))
        let ablated = (try #require(try f32.forward(batch, after: 0, output: states.0.output, mlpInput: states.0.mlpInput, logits: .all, ablation: ablation)),
                       try #require(try half.forward(batch, after: 0, output: states.1.output, mlpInput: states.1.mlpInput, logits: .all, ablation: ablation)))
        #expect(relativeError(ablated.1.array, ablated.0.array) < 1e-5, "ablated logits")
    }

    /// A one-block model, hidden 512 and MLP 4096, so that each MLP matrix spans two panels.
    static func model(_ family: String) -> ([String: Any], [(String, [Int])]) {
        let (d, f, vocab) = (512, 4096, 64)
        if family == "gpt2" {
            let config: [String: Any] = ["model_type": "gpt2", "n_embd": d, "n_layer": 1, "n_head": 8, "n_inner": f, "vocab_size": vocab, "n_positions": 32]
            return (config, [("wte.weight", [vocab, d]), ("wpe.weight", [32, d]), ("h.0.ln_1.weight", [d]), ("h.0.ln_1.bias", [d]),
                             ("h.0.attn.c_attn.weight", [d, 3 * d]), ("h.0.attn.c_attn.bias", [3 * d]), ("h.0.attn.c_proj.weight", [d, d]),
                             ("h.0.attn.c_proj.bias", [d]), ("h.0.ln_2.weight", [d]), ("h.0.ln_2.bias", [d]), ("h.0.mlp.c_fc.weight", [d, f]),
                             ("h.0.mlp.c_fc.bias", [f]), ("h.0.mlp.c_proj.weight", [f, d]), ("h.0.mlp.c_proj.bias", [d]),
                             ("ln_f.weight", [d]), ("ln_f.bias", [d])])
        }
        let config: [String: Any] = ["model_type": "llama", "hidden_size": d, "num_hidden_layers": 1, "num_attention_heads": 8, "num_key_value_heads": 4,
                                     "intermediate_size": f, "vocab_size": vocab, "max_position_embeddings": 32, "tie_word_embeddings": false]
        let p = "model.layers.0."
        return (config, [("model.embed_tokens.weight", [vocab, d]), (p + "input_layernorm.weight", [d]), (p + "self_attn.q_proj.weight", [d, d]),
                         (p + "self_attn.k_proj.weight", [d / 2, d]), (p + "self_attn.v_proj.weight", [d / 2, d]), (p + "self_attn.o_proj.weight", [d, d]),
                         (p + "post_attention_layernorm.weight", [d]), (p + "mlp.gate_proj.weight", [f, d]), (p + "mlp.up_proj.weight", [f, d]),
                         (p + "mlp.down_proj.weight", [d, f]), ("model.norm.weight", [d]), ("lm_head.weight", [vocab, d])])
    }

    /// A safetensors file of 2-byte tensors, written by hand (neurotop itself writes only F32).
    static func writeHalf(_ tensors: [(name: String, shape: [Int], bits: [UInt16])], _ dtype: DType, to path: String) throws {
        var header: [String: Any] = [:], offset = 0
        for tensor in tensors {
            header[tensor.name] = ["dtype": dtype.rawValue, "shape": tensor.shape, "data_offsets": [offset, offset + 2 * tensor.bits.count]]
            offset += 2 * tensor.bits.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var data = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for tensor in tensors { tensor.bits.withUnsafeBytes { data.append(contentsOf: $0) } }
        try data.write(to: URL(fileURLWithPath: path))
    }
}
