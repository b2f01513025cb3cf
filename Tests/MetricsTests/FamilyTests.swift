import Foundation
@testable import Model
@testable import Tensors
import Testing

/// What each family's config.json means, as transformers reads it, and the families refused.
@Suite struct FamilyConfigs {
    func load(_ json: String) throws -> ModelConfig {
        let folder = TemporaryFolder()
        return try ModelConfig.load(path: folder.write("config.json", json))
    }

    /// Gemma 2 without layer_types or soft caps in its file: transformers' defaults (caps 50 and
    /// 30, window 4096 on even blocks, scores by 1/√256).
    @Test func gemma2Defaults() throws {
        let config = try load(#"{"model_type":"gemma2","hidden_size":64,"intermediate_size":128,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,"max_position_embeddings":128,"vocab_size":1000}"#)
        #expect(config.familyName == "gemma2" && config.headDim == 256)
        #expect(config.attentionSoftCap == 50 && config.finalSoftCap == 30 && config.queryPreAttentionScalar == 256)
        #expect((0..<4).map { config.isSliding(block: $0) } == [true, false, true, false])
        #expect(config.slidingWindow == 4096)
    }

    /// A multimodal Gemma 3 in transformers 4's spelling: text_config, rope_local_base_freq,
    /// rope_scaling for the global blocks only, every sixth block global.
    @Test func gemma3MultimodalTextConfig() throws {
        let config = try load(#"{"model_type":"gemma3","architectures":["Gemma3ForConditionalGeneration"],"text_config":{"model_type":"gemma3_text","hidden_size":64,"intermediate_size":128,"num_hidden_layers":7,"num_attention_heads":4,"num_key_value_heads":1,"head_dim":16,"max_position_embeddings":128,"vocab_size":1000,"rope_local_base_freq":10000.0,"rope_theta":1000000.0,"rope_scaling":{"rope_type":"linear","factor":8.0},"sliding_window":512,"sliding_window_pattern":6,"query_pre_attn_scalar":16}}"#)
        #expect(config.familyName == "gemma3" && config.queryKeyNorm)
        #expect(config.rope == RopeScaling(kind: .linear, theta: 1_000_000, factor: 8))
        #expect(config.localRope == RopeScaling(theta: 10_000))
        #expect((0..<7).map { config.isSliding(block: $0) } == [true, true, true, true, true, false, true])
        #expect(config.attentionSoftCap == nil && config.finalSoftCap == nil)
    }

    @Test func pythiaKeys() throws {
        let config = try load(#"{"model_type":"gpt_neox","hidden_size":512,"intermediate_size":2048,"num_hidden_layers":6,"num_attention_heads":8,"max_position_embeddings":2048,"vocab_size":50304,"rotary_pct":0.25,"rotary_emb_base":10000,"use_parallel_residual":true,"hidden_act":"gelu","layer_norm_eps":1e-5}"#)
        #expect(config.familyName == "gpt-neox" && config.parallelResidual)
        #expect(config.headDim == 64 && config.rotaryDimensions == 16)
        #expect(!config.tieWordEmbeddings)
    }

    /// OPT-350m's config.json: norms after the residual adds, a 512-wide embedding projected in
    /// and out of the 1024-wide stream.
    @Test func opt350mKeys() throws {
        let config = try load(#"{"model_type":"opt","activation_function":"relu","do_layer_norm_before":false,"ffn_dim":4096,"hidden_size":1024,"max_position_embeddings":2048,"num_attention_heads":16,"num_hidden_layers":24,"vocab_size":50272,"word_embed_proj_dim":512,"torch_dtype":"float16","pad_token_id":1,"bos_token_id":2,"eos_token_id":2}"#)
        let opt = try #require(config.family as? OPT)
        #expect(opt.normsAfterResidual && opt.embeddingProjection == 512)
        #expect(config.hiddenSize == 1024 && config.headDim == 64 && config.tieWordEmbeddings)
        let opt125m = try load(#"{"model_type":"opt","do_layer_norm_before":true,"ffn_dim":3072,"hidden_size":768,"max_position_embeddings":2048,"num_attention_heads":12,"num_hidden_layers":12,"vocab_size":50272,"word_embed_proj_dim":768}"#)
        let opt125mFamily = try #require(opt125m.family as? OPT)
        #expect(!opt125mFamily.normsAfterResidual && opt125mFamily.embeddingProjection == nil)
    }

    /// Falcon-RW-1B's settings (in the older n_head/n_layer spelling): ALiBi, sequential blocks,
    /// one key/value head per query head.
    @Test func falconRWKeys() throws {
        let config = try load(#"{"model_type":"falcon","alibi":true,"bias":true,"hidden_size":2048,"multi_query":false,"n_head":32,"n_layer":24,"parallel_attn":false,"vocab_size":50304,"layer_norm_epsilon":1e-5}"#)
        #expect((config.family as? Falcon)?.alibi == true && !config.parallelResidual)
        #expect(config.headCount == 32 && config.kvHeadCount == 32 && config.attentionBias)
    }

    @Test func originalQwenIsRefusedByName() throws {
        let folder = TemporaryFolder()
        let path = folder.write("config.json", #"{"model_type":"qwen","hidden_size":2048,"num_hidden_layers":24}"#)
        #expect(throws: InputError.self) { try ModelConfig.load(path: path) }
        do {
            _ = try ModelConfig.load(path: path)
        } catch let error as InputError {
            #expect("\(error)".contains("model_type 'qwen'") && "\(error)".contains("qwen2"), "\(error)")
        }
    }
}

/// The registry: each model_type and each llama.cpp architecture read by one family, and what
/// `info` says derived from the family's architecture.
@Suite struct FamilyRegistry {
    @Test func everyModelTypeAndGGUFArchitectureHasOneFamily() {
        let modelTypes = ModelFamilies.all.flatMap { $0.modelTypes }
        #expect(modelTypes.count == Set(modelTypes).count, "\(modelTypes)")
        let gguf = ModelFamilies.all.flatMap { family in
            ((family as? any GGUFFamily.Type)?.ggufArchitectures ?? []) + family.ggufArchitecturesNotRead
        }
        #expect(gguf.count == Set(gguf).count, "\(gguf)")
        #expect(ModelFamilies.family(modelType: "qwen3") == Llama.self && ModelFamilies.family(modelType: "gemma3_text") == Gemma.self)
        #expect(ModelFamilies.family(ggufArchitecture: "gemma3") == Gemma.self && ModelFamilies.family(ggufArchitecture: "falcon") == nil)
    }

    /// Falcon-RW adds ALiBi biases to its scores, as MPT does; its config.json still carries
    /// rope_theta, and `info` once called its positions rotary.
    @Test func infoDescribesPositionsFromTheArchitecture() throws {
        func positions(_ fixture: String) throws -> String {
            try ModelSummary(checkpoint: Checkpoint(folder: Fixtures.url("checkpoints/\(fixture)").path)).positionsDescription
        }
        #expect(try positions("falcon-alibi") == "ALiBi (no position embedding)")
        #expect(try positions("mpt") == "ALiBi (no position embedding)")
        #expect(try positions("gpt2") == "learned positions")
        #expect(try positions("opt-350m") == "learned positions")
        #expect(try positions("falcon") == "rotary, theta 10000")
        #expect(try positions("gpt-neox") == "rotary, theta 10000; first 4 of 8 dimensions")
    }
}

/// The incremental ablation the evaluator uses (the state after a block, then only the ablated
/// neurons' change) equals a full ablated forward in every family: norms after the MLP (Gemma 2/3,
/// OLMo 2) make the change nonlinear, a parallel block (GPT-NeoX) adds it beside attention.
@Suite struct FamilyIncrementalAblation {
    @Test(arguments: familyCheckpoints)
    func forwardAfterABlockEqualsTheFullAblatedForward(_ name: String) throws {
        let reference = try Reference(name)
        let model = try Transformer(checkpoint: reference.checkpoint)
        let batch = Batch([try reference.sequence(9), try reference.sequence(45)])
        for block in 0..<model.blockCount {
            let ablation = Ablation(replacing: [NeuronID(block: block, neuron: 3): 0, NeuronID(block: block, neuron: 40): 0.5,
                                                NeuronID(block: model.blockCount - 1, neuron: 7): 0])
            let full = try #require(try model.forward(batch, logits: .all, ablation: ablation))
            let (output, mlpInput) = try model.state(after: block, of: batch)
            let incremental = try #require(try model.forward(batch, after: block, output: output, mlpInput: mlpInput, logits: .all, ablation: ablation))
            #expect(maxAbsDifference(incremental.pointer, full.array) < 1e-4, "\(name), ablation from block \(block)")
            let clean = try #require(try model.forward(batch, logits: .all))
            #expect(maxAbsDifference(clean.pointer, full.array) > 1e-3, "\(name): the ablation changed nothing")
        }
    }
}

/// The forward that computes only the rows getting logits in its last block (what the evaluator
/// runs) gives what the full forward gives at those rows, in every family.
@Suite struct FamilyLastRowsOnly {
    @Test(arguments: familyCheckpoints)
    func lastRowsEqualTheFullForward(_ name: String) throws {
        let reference = try Reference(name)
        let model = try Transformer(checkpoint: reference.checkpoint)
        let sequences = [try reference.sequence(45), try reference.sequence(9)]
        let batch = Batch(sequences)
        let full = try #require(try model.forward(batch, logits: .all))
        let last = try #require(try model.forward(batch, logits: .last))
        let vocab = model.vocabSize
        for (i, row) in batch.lastRows.enumerated() {
            let expected = Array(UnsafeBufferPointer(start: full.pointer + row * vocab, count: vocab))
            #expect(maxAbsDifference(last.pointer + i * vocab, expected) < 1e-5, "\(name), sequence \(i)")
        }
    }
}
