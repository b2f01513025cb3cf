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

    /// Method 2's useful arithmetic for one sequence of `tokens`, the numerator of its floor: a
    /// forward and a backward with weight gradients of every block linear layer (6 × parameters ×
    /// tokens); the attention's products over the causal half, two forward and four backward per
    /// head (each hd × tokens × (tokens + 1)); the unembedding's forward and input gradient of the
    /// last row (4 × vocab × hidden). Not counted: the forward each block runs again before its
    /// backward (the price of keeping only block inputs), norms, activations, |w·g| and the sums.
    public func patternFLOPs(tokens n: Int) -> Double {
        let linear = architecture.blocks.reduce(0.0) { total, block in
            total + block.linears.reduce(0.0) { $0 + 6 * Double(n) * Double($1.inFeatures * $1.outFeatures) }
        }
        let attention = Double(blockCount) * Double(config.headCount) * 6 * Double(config.headDim) * Double(n) * Double(n + 1)
        return linear + attention + 4 * Double(vocabSize) * Double(hiddenSize)
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
