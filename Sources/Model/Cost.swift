/// Arithmetic and memory a pass costs, counted from the architecture (for benchmarks).
extension Transformer {
    /// Multiply-adds ×2 of the matrix products in a forward over one sequence of `tokens`,
    /// with logits for `logitRows` positions.
    public func forwardMatrixFLOPs(tokens n: Int, logitRows: Int) -> Double {
        let linear = architecture.blocks.reduce(0.0) { total, block in
            total + block.linears.reduce(0.0) { $0 + 2 * Double(n) * Double($1.inFeatures * $1.outFeatures) }
        }
        // Scores and weighted values: two [n, n] × head-dim products per head (the full square is computed).
        let attention = Double(blockCount) * Double(config.headCount) * 2 * 2 * Double(n * n * config.headDim)
        return linear + attention + 2 * Double(logitRows) * Double(hiddenSize) * Double(vocabSize)
    }

    /// The backward of the top last-position logit: every linear layer twice (input and weight
    /// gradients) and four attention products per head.
    public func backwardMatrixFLOPs(tokens n: Int) -> Double {
        let linear = architecture.blocks.reduce(0.0) { total, block in
            total + block.linears.reduce(0.0) { $0 + 4 * Double(n) * Double($1.inFeatures * $1.outFeatures) }
        }
        let attention = Double(blockCount) * Double(config.headCount) * 4 * 2 * Double(n * n * config.headDim)
        return linear + attention
    }

    /// Bytes of the activations a backward over `tokens` keeps (every block's cache), with its
    /// working buffers: the weight-gradient scratch, one chunk of widened unembedding rows and the
    /// MLP's temporaries.
    public func backwardActivationBytes(tokens n: Int) -> Int {
        let d = hiddenSize, f = mlpWidth
        let perBlock = n * activationFloatsPerToken + config.headCount * n * n
        let working = largestLinearSize + 8192 * d + 4 * n * f
        return 4 * (blockCount * perBlock + 2 * n * d + vocabSize + working)
    }

    /// Bytes of one block's activations over `batch` (a `BlockCache`, its attention probabilities
    /// included).
    func blockActivationBytes(_ batch: Batch) -> Int {
        let probabilities = batch.sequences.reduce(0) { $0 + config.headCount * $1.count * $1.count }
        return 4 * (batch.tokenCount * activationFloatsPerToken + probabilities)
    }

    /// Floats a block's activations keep per token.
    private var activationFloatsPerToken: Int {
        let d = hiddenSize, f = mlpWidth, q = config.headCount * config.headDim, kv = config.kvHeadCount * config.headDim
        var perToken = 5 * d + 4 + 2 * q + 2 * kv + (architecture.hasGatedMLP ? 3 : 2) * f
        if config.queryKeyNorm { perToken += q + kv + config.headCount + config.kvHeadCount }
        // What only some families keep: the outputs their post-norms read, clip masks, a fused gate|up.
        if let block = architecture.blocks.first {
            if block.postAttentionNorm != nil { perToken += d + 2 }
            if block.postMLPNorm != nil { perToken += d + 2 }
            if block.clipQKV != nil { perToken += q + 2 * kv }
            if block.mlpInput.isFused { perToken += 2 * f }
        }
        return perToken
    }

    /// Bytes of the largest block's weights in float32.
    public var largestBlockBytes: Int {
        architecture.blocks.map { block in
            block.linears.reduce(0) { $0 + $1.inFeatures * $1.outFeatures + ($1.bias == nil ? 0 : $1.outFeatures) } + 4 * hiddenSize
        }.max().map { $0 * 4 } ?? 0
    }
}

/// The useful arithmetic of a unit of analysis, by formula (README, "Efficiency"): what the method
/// needs, not what a pass happens to run. Work a shortcut saves (the blocks before an ablation, a
/// prompt shared by its choices) is not counted; work rerun to save memory (a block's forward again
/// before its backward, a state recomputed instead of cached) is not counted either.
extension Transformer {
    /// Multiply-adds ×2 of the linear layers of `blocks`, per token.
    public func linearFLOPsPerToken(blocks: Range<Int>) -> Double {
        architecture.blocks[blocks].reduce(0.0) { total, block in
            total + block.linears.reduce(0.0) { $0 + 2 * Double($1.inFeatures * $1.outFeatures) }
        }
    }

    /// Causal attention's two products (scores and weighted values) in one block: each query
    /// against itself and every earlier position, its parent's included.
    public func attentionFLOPs(_ batch: Batch) -> Double {
        let pairs = zip(batch.sequences, batch.prefixLengths).reduce(0.0) { total, item in
            let (n, prefix) = (Double(item.0.count), Double(item.1))
            return total + n * prefix + n * (n + 1) / 2
        }
        return 2 * 2 * pairs * Double(config.headCount * config.headDim)
    }

    /// The unembedding of `rows` rows.
    public func logitFLOPs(rows: Int) -> Double { 2 * Double(rows) * Double(hiddenSize) * Double(vocabSize) }

    /// A forward over `batch` through blocks `first..<L`, with logits for `logitRows` rows.
    public func forwardFLOPs(_ batch: Batch, from first: Int = 0, logitRows: Int) -> Double {
        let blocks = first..<blockCount
        return Double(batch.tokenCount) * linearFLOPsPerToken(blocks: blocks) + Double(blocks.count) * attentionFLOPs(batch)
            + logitFLOPs(rows: logitRows)
    }

    /// A forward and a backward over `batch` from `logitRows` logits: the backward takes each
    /// product's input gradient, and with `weightGradients` also its weight gradient (so 3× the
    /// forward's linear work, "6 × parameters × tokens"); attention's backward is twice its forward.
    public func gradientFLOPs(_ batch: Batch, logitRows: Int, weightGradients: Bool) -> Double {
        let blocks = 0..<blockCount
        return Double(batch.tokenCount) * linearFLOPsPerToken(blocks: blocks) * (weightGradients ? 3 : 2)
            + 3 * Double(blockCount) * attentionFLOPs(batch) + 2 * logitFLOPs(rows: logitRows)
    }
}
