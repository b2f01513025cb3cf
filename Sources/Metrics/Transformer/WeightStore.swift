/// One block's weights as float32, ready for BLAS.
final class BlockWeights {
    private var buffers: [String: Buffer] = [:]

    subscript(name: String) -> UnsafeMutablePointer<Float> { buffers[name]!.pointer }

    func optional(_ name: String?) -> UnsafeMutablePointer<Float>? { name.flatMap { buffers[$0]?.pointer } }

    fileprivate func set(_ name: String, _ buffer: Buffer) { buffers[name] = buffer }

    var byteCount: Int { buffers.values.reduce(0) { $0 + $1.count * 4 } }
}

/// Hands out weights as float32. F32 tensors are used in place from the mapped file; F16 and
/// BF16 are widened block by block when used, and dropped after unless `keepsBlocks` is set,
/// so a half-precision model never sits in memory twice.
final class WeightStore {
    let checkpoint: Checkpoint
    let architecture: Architecture
    /// Keep widened blocks for the next pass (fast repeated passes, more memory).
    var keepsBlocks: Bool
    private var kept: [Int: BlockWeights] = [:]
    private var models: [String: Buffer] = [:]

    init(checkpoint: Checkpoint, architecture: Architecture, keepsBlocks: Bool) throws {
        self.checkpoint = checkpoint
        self.architecture = architecture
        self.keepsBlocks = keepsBlocks
        for (name, shape) in architecture.expectedShapes {
            guard let tensor = checkpoint.tensor(name), let file = checkpoint.file(holding: name) else {
                throw InputError(checkpoint.folder, "no tensor '\(name)', which a \(architecture.config.modelType) model needs")
            }
            guard tensor.shape == shape else {
                throw InputError(file.path, "tensor '\(name)' has shape \(tensor.shape); config.json implies \(shape)")
            }
            guard tensor.dtype.isReadable else {
                throw InputError(file.path, "tensor '\(name)' is \(tensor.dtype.rawValue); neurotop reads F32, F16 and BF16 tensors")
            }
        }
    }

    /// True when every tensor is float32 and can be used in place.
    var isFloat32: Bool { checkpoint.bytesByDType.keys.allSatisfy { $0 == DType.f32.rawValue } }

    /// A tensor as float32: in place when possible, otherwise widened into new memory.
    func load(_ name: String) -> Buffer {
        let file = checkpoint.file(holding: name)!
        let tensor = file.tensors[name]!
        let raw = file.rawBytes(tensor)
        if tensor.dtype == .f32, let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
            return Buffer(borrowing: UnsafeMutableRawPointer(mutating: base).assumingMemoryBound(to: Float.self),
                          count: tensor.elementCount, owner: file)
        }
        let buffer = Buffer(count: tensor.elementCount)
        try? file.read(tensor, into: buffer.pointer)
        return buffer
    }

    /// Model-level tensors (norms, position embeddings) are small and loaded once.
    func model(_ name: String) -> Buffer {
        if let buffer = models[name] { return buffer }
        let buffer = load(name)
        models[name] = buffer
        return buffer
    }

    func block(_ index: Int) -> BlockWeights {
        if let weights = kept[index] { return weights }
        let weights = BlockWeights()
        let description = architecture.blocks[index]
        var names: [String] = []
        for norm in [description.attentionNorm, description.mlpNorm] {
            switch norm {
            case .layer(let w, let b): names += [w, b]
            case .rms(let w): names.append(w)
            }
        }
        names += [description.queryNorm, description.keyNorm].compactMap { $0 }
        for linear in description.linears { names += [linear.weight] + (linear.bias.map { [$0] } ?? []) }
        for name in names { weights.set(name, load(name)) }
        if keepsBlocks { kept[index] = weights }
        return weights
    }

    /// Calls `body` with consecutive row ranges of a `[rows, width]` matrix as float32, widening at
    /// most `rowsPerChunk` rows at a time (the unembedding of a large vocabulary never widens whole).
    func forEachRowChunk(_ name: String, rowsPerChunk: Int, _ body: (Range<Int>, UnsafePointer<Float>) -> Void) {
        let file = checkpoint.file(holding: name)!
        let tensor = file.tensors[name]!
        let rows = tensor.shape[0], width = tensor.elementCount / max(rows, 1)
        if tensor.dtype == .f32 || keepsBlocks {
            let whole = model(name)
            body(0..<rows, whole.pointer)
            return
        }
        let raw = file.rawBytes(tensor)
        let chunk = Buffer(count: min(rowsPerChunk, rows) * width)
        var start = 0
        while start < rows {
            let count = min(rowsPerChunk, rows - start)
            Widen.toFloat32(tensor.dtype, from: raw.baseAddress! + start * width * tensor.dtype.byteSize, count: count * width, into: chunk.pointer)
            body(start..<(start + count), chunk.pointer)
            start += count
        }
    }

    /// One row of a `[rows, width]` matrix (an embedding lookup) into `destination`.
    func row(_ name: String, _ index: Int, into destination: UnsafeMutablePointer<Float>) {
        let file = checkpoint.file(holding: name)!
        let tensor = file.tensors[name]!
        let width = tensor.elementCount / max(tensor.shape[0], 1)
        let raw = file.rawBytes(tensor)
        Widen.toFloat32(tensor.dtype, from: raw.baseAddress! + index * width * tensor.dtype.byteSize, count: width, into: destination)
    }
}
