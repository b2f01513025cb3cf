import Foundation
import Model
import Tensors
import Testing

@Suite struct ModelConfigReading {
    func load(_ json: String) throws -> ModelConfig {
        let folder = TemporaryFolder()
        return try ModelConfig.load(path: folder.write("config.json", json))
    }

    @Test func gpt2Keys() throws {
        let config = try load(#"{"model_type":"gpt2","n_embd":768,"n_layer":12,"n_head":12,"n_positions":1024,"vocab_size":50257,"activation_function":"gelu_new","layer_norm_epsilon":1e-5,"torch_dtype":"float32"}"#)
        #expect(config.familyName == "gpt2")
        #expect(config.hiddenSize == 768 && config.layerCount == 12 && config.headCount == 12)
        #expect(config.intermediateSize == 3072)
        #expect(config.headDim == 64)
        #expect(config.contextLength == 1024)
        #expect(config.tieWordEmbeddings)
        #expect(config.dtype == "float32")
    }

    @Test func olderLlamaKeys() throws {
        let config = try load(#"{"model_type":"llama","hidden_size":4096,"intermediate_size":14336,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"max_position_embeddings":131072,"vocab_size":128256,"rms_norm_eps":1e-5,"rope_theta":500000.0,"rope_scaling":{"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192,"rope_type":"llama3"},"torch_dtype":"bfloat16"}"#)
        #expect(config.kvHeadCount == 8 && config.headDim == 128)
        #expect(config.rope == RopeScaling(kind: .llama3, theta: 500_000, factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContext: 8192))
        #expect(config.dtype == "bfloat16")
        #expect(config.tieWordEmbeddings == false)
    }

    @Test func transformers5Keys() throws {
        let config = try load(#"{"model_type":"qwen3","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":24,"max_position_embeddings":128,"vocab_size":1000,"rope_parameters":{"rope_type":"linear","factor":2.0,"rope_theta":1000000.0},"dtype":"float16","tie_word_embeddings":true}"#)
        #expect(config.headDim == 24)
        #expect(config.queryKeyNorm)
        #expect(config.rope.kind == .linear && config.rope.factor == 2 && config.rope.theta == 1_000_000)
        #expect(config.dtype == "float16")
        #expect(config.tieWordEmbeddings)
    }

    @Test func oldScalingSpelledWithType() throws {
        let config = try load(#"{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"max_position_embeddings":128,"vocab_size":1000,"rope_scaling":{"type":"linear","factor":4}}"#)
        #expect(config.rope.kind == .linear && config.rope.factor == 4 && config.rope.theta == 10_000)
        #expect(config.kvHeadCount == 4)
    }

    @Test func qwen2HasAttentionBiasAndMistralASlidingWindow() throws {
        let base = #""hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"max_position_embeddings":128,"vocab_size":1000"#
        #expect(try load("{\"model_type\":\"qwen2\",\(base)}").attentionBias)
        #expect(try load("{\"model_type\":\"mistral\",\(base),\"sliding_window\":4096}").slidingWindow == 4096)
        #expect(try load("{\"model_type\":\"mistral\",\(base),\"sliding_window\":null}").slidingWindow == nil)
        #expect(try load("{\"model_type\":\"llama\",\(base)}").attentionBias == false)
    }

    @Test func problemsNameTheKey() throws {
        let folder = TemporaryFolder()
        let path = folder.write("config.json", #"{"model_type":"llama","hidden_size":64}"#)
        #expect(throws: InputError(path, "missing 'num_hidden_layers'")) { try ModelConfig.load(path: path) }
        let unsupported = folder.write("rope/config.json", #"{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"max_position_embeddings":128,"vocab_size":1000,"rope_scaling":{"rope_type":"yarn","factor":4}}"#)
        #expect(throws: InputError(unsupported, "rope scaling type 'yarn' is not supported (default, linear and llama3 are)")) { try ModelConfig.load(path: unsupported) }
        let groups = folder.write("gqa/config.json", #"{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":3,"max_position_embeddings":128,"vocab_size":1000}"#)
        #expect(throws: InputError(groups, "4 attention heads do not divide into 3 key/value heads")) { try ModelConfig.load(path: groups) }
    }
}
