import ArgumentParser
import Analysis
import Checkpoints
import Model
import Tokenizers

/// MODEL, the argument every command on one model starts with, and the load chain from it.
struct ModelArguments: ParsableArguments {
    @Argument(help: ArgumentHelp("A model folder, a GGUF file, or a model id in the local Hugging Face cache (default: the built-in model).",
                                 valueName: "model"))
    var location: String?

    /// The checkpoint: its config and tensor index read and checked, no weights yet.
    func checkpoint() throws -> Checkpoint {
        try Checkpoint(location: location ?? ShippedData.defaultModel())
    }

    /// The checkpoint and the transformer on it.
    func load(widening: Widening = .automatic) throws -> (checkpoint: Checkpoint, transformer: Transformer) {
        let checkpoint = try checkpoint()
        return (checkpoint, try Transformer(checkpoint: checkpoint, widening: widening))
    }

    /// Everything scoring `probes` (a shipped probe set's name or a JSON Lines file) on the model needs.
    func load(probes: String) throws -> EvaluationInputs {
        try EvaluationInputs.load(checkpoint(), probes: probes)
    }
}

/// A model with its tokenizer, a probe set, and an evaluator of the one on the other.
struct EvaluationInputs {
    let checkpoint: Checkpoint
    let transformer: Transformer
    let tokenizer: Tokenizer
    let probes: ProbeSet
    let evaluator: Evaluator

    /// The load chain after the checkpoint: the probe set first, so that a bad file is reported
    /// before any weights are read, then the transformer, the tokenizer and the evaluator.
    static func load(_ checkpoint: Checkpoint, probes: String) throws -> EvaluationInputs {
        let probeSet = try ProbeSet.load(named: probes, dataRoot: ShippedData.root())
        let transformer = try Transformer(checkpoint: checkpoint)
        let tokenizer = try checkpoint.loadTokenizer()
        return EvaluationInputs(checkpoint: checkpoint, transformer: transformer, tokenizer: tokenizer, probes: probeSet,
                                evaluator: try Evaluator(model: transformer, tokenizer: tokenizer, probes: probeSet))
    }
}
