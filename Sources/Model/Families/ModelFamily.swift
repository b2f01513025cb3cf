import Foundation
import Checkpoints
import Tensors
import Tokenizers

/// One architecture family, described on one page of this folder: the `config.json` files it reads
/// and how, and the blocks a checkpoint's tensors make (`Architecture`); a `GGUFFamily` also says
/// how llama.cpp stores it. `ModelFamilies.all` lists them.
protocol ModelFamily: Sendable {
    /// config.json's `model_type` values the family reads.
    static var modelTypes: [String] { get }
    /// Those of `modelTypes` whose config.json keeps the language model's settings in `text_config`.
    static var multimodalModelTypes: [String] { get }
    /// model_type values refused by name, with the reason.
    static var refusedModelTypes: [String: String] { get }
    /// llama.cpp's names (`general.architecture`) for the family's models that neurotop cannot
    /// read from GGUF files yet.
    static var ggufArchitecturesNotRead: [String] { get }

    /// Reads the family's own settings, those no other family has, from config.json.
    init(_ keys: ConfigKeys) throws
    /// What `info` calls the family: "gpt2", "gemma2".
    var name: String { get }
    /// Reads the settings every family has into `config`.
    func read(_ keys: ConfigKeys, into config: inout ModelConfig) throws
    /// The tensors of a checkpoint of `config` holding `tensorNames`, and how they compute.
    func architecture(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture
}

extension ModelFamily {
    static var multimodalModelTypes: [String] { [] }
    static var refusedModelTypes: [String: String] { [:] }
    static var ggufArchitecturesNotRead: [String] { [] }
}

/// A family whose llama.cpp GGUF files neurotop reads.
protocol GGUFFamily: ModelFamily {
    /// llama.cpp's names (`general.architecture`) for the family's models.
    static var ggufArchitectures: [String] { get }
    /// How transformers' conversion of the family's SentencePiece tokenizers handles spaces.
    static var ggufTokenizerSpaces: GGUFTokenizer.Spaces { get }
    /// How a file of `architecture` is laid out: its config.json from the metadata, the Hugging
    /// Face names of its tensors, and what llama.cpp's converter changed in them.
    static func ggufLayout(_ file: GGUFFile, architecture: String) throws -> GGUFLayout
}

extension GGUFFamily {
    static var ggufTokenizerSpaces: GGUFTokenizer.Spaces { .metaspace }
}

/// What the families' descriptions share.
extension ModelFamily {
    /// The unembedding when not tied: `name` if the checkpoint has it and the config does not tie.
    func untied(_ name: String, _ config: ModelConfig, _ tensorNames: Set<String>) -> String? {
        tensorNames.contains(name) && !config.tieWordEmbeddings ? name : nil
    }

    /// Scores scale of a block: 1/√query_pre_attn_scalar where given, else 1/√head_dim.
    func attentionScale(_ config: ModelConfig) -> Float {
        1 / Float(config.queryPreAttentionScalar ?? Double(config.headDim)).squareRoot()
    }

    /// A linear layer of block prefix `b`, PyTorch `Linear` layout.
    func linear(_ b: String, _ name: String, _ inFeatures: Int, _ outFeatures: Int, biased: Bool) -> BlockDescription.Linear {
        .init(weight: b + name + ".weight", bias: biased ? b + name + ".bias" : nil, inFeatures: inFeatures, outFeatures: outFeatures)
    }
}

/// Every family neurotop runs, in the order messages list their model types. A new family is one
/// file in this folder and its entry here.
public enum ModelFamilies {
    static let all: [any ModelFamily.Type] = [GPT2.self, Llama.self, Gemma.self, GPTNeoX.self, OLMo.self, Phi3.self, GPTJ.self, Falcon.self, MPT.self, OPT.self]

    static func family(modelType: String) -> (any ModelFamily.Type)? {
        all.first { $0.modelTypes.contains(modelType) }
    }

    /// Why a model_type no family reads is refused, when a family says.
    static func refusal(modelType: String) -> String? {
        all.lazy.compactMap { $0.refusedModelTypes[modelType] }.first
    }

    static func family(ggufArchitecture architecture: String) -> (any GGUFFamily.Type)? {
        all.lazy.compactMap { $0 as? any GGUFFamily.Type }.first { $0.ggufArchitectures.contains(architecture) }
    }

    /// A GGUF file read as the family its `general.architecture` names lays it out.
    static func model(gguf file: GGUFFile) throws -> GGUFModel {
        let architecture = try GGUFModel.architecture(of: file)
        guard let family = family(ggufArchitecture: architecture) else {
            if all.contains(where: { $0.ggufArchitecturesNotRead.contains(architecture) }) {
                throw InputError(file.path, "architecture '\(architecture)': reading its fused attention weights from GGUF is not supported yet")
            }
            let read = all.compactMap { $0 as? any GGUFFamily.Type }.flatMap { $0.ggufArchitectures }.sorted()
            throw InputError(file.path, "architecture '\(architecture)' is not supported (GGUF files of \(read.joined(separator: ", ")) are read)")
        }
        return try GGUFModel(file: file, layout: family.ggufLayout(file, architecture: architecture), tokenizerSpaces: family.ggufTokenizerSpaces)
    }

    /// The tokenizer of a GGUF file, which needs no model: spaces as its family's conversion
    /// handles them, as Llama's for files of other families.
    public static func tokenizer(gguf file: GGUFFile) throws -> Tokenizer {
        let spaces = file.metadata["general.architecture"]?.string.flatMap { family(ggufArchitecture: $0)?.ggufTokenizerSpaces }
        return try GGUFTokenizer.load(file, spaces: spaces ?? .metaspace)
    }
}
