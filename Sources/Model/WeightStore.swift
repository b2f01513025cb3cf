import Foundation
import Checkpoints
import Tensors

extension StoredMatrix {
    /// Rows widened at a time by `forEachPanel`: 4 MB of float32, so that a panel is still in
    /// cache when the GEMM reads it and the weights cross memory once, at their stored size,
    /// while the GEMM calls (each a wake-up of OpenBLAS's threads) stay few.
    static let panelElements = 1 << 20

    var panelRows: Int { max(1, min(rows, Self.panelElements / max(width, 1))) }

    /// Calls `body` with consecutive row panels as float32, `panelRows` rows at most.
    func forEachPanel(_ body: (Range<Int>, UnsafePointer<Float>) -> Void) {
        let step = panelRows
        let panel = Buffer(uninitializedCount: min(step, rows) * width)
        for start in stride(from: 0, to: rows, by: step) {
            let range = start..<min(start + step, rows)
            widen(range, into: panel.pointer)
            body(range, panel.pointer)
        }
    }

    /// Columns `columns` of every row, transposed: `[columns.count, rows]`.
    func columns(_ columns: [Int]) -> Buffer {
        let gathered = Buffer(uninitializedCount: columns.count * rows)
        forEachPanel { range, panel in
            for (j, column) in columns.enumerated() {
                for row in range { gathered[j * rows + row] = panel[(row - range.lowerBound) * width + column] }
            }
        }
        return gathered
    }
}

/// One block's weights: the small tensors (norms, biases) as float32, and each 2-D weight either
/// as float32 in place (F32 checkpoints, parameters in memory) or stored, widened panel by panel
/// by the GEMMs that use it.
final class BlockWeights {
    enum Matrix {
        case float32(UnsafeMutablePointer<Float>)
        case stored(StoredMatrix)
    }

    private var buffers: [String: Buffer] = [:]
    private var matrices: [String: StoredMatrix] = [:]

    subscript(name: String) -> UnsafeMutablePointer<Float> { buffers[name]!.pointer }

    func optional(_ name: String?) -> UnsafeMutablePointer<Float>? { name.flatMap { buffers[$0]?.pointer } }

    func matrix(_ name: String) -> Matrix { matrices[name].map { .stored($0) } ?? .float32(self[name]) }

    fileprivate func set(_ name: String, _ buffer: Buffer) { buffers[name] = buffer }
    fileprivate func set(_ name: String, _ matrix: StoredMatrix) { matrices[name] = matrix }
}

/// Float32 parameters held in memory, by checkpoint name: a model being trained.
public final class ParameterSet {
    public private(set) var names: [String] = []
    public private(set) var shapes: [String: [Int]] = [:]
    public private(set) var values: [String: Buffer] = [:]

    public init() {}

    public func add(_ name: String, shape: [Int], _ buffer: Buffer) {
        precondition(buffer.count == shape.reduce(1, *), "\(name): \(buffer.count) values for shape \(shape)")
        if values[name] == nil { names.append(name) }
        shapes[name] = shape
        values[name] = buffer
    }

    public var parameterCount: Int { values.values.reduce(0) { $0 + $1.count } }
}

/// Hands out weights as float32. From a checkpoint, F32 tensors are used in place from the mapped
/// file; F16, BF16 and quantized matrices are widened once into `WidenedCopies` when the machine
/// has the room, else a panel at a time right before each GEMM (small tensors once), so that a
/// half-precision model never sits in anonymous memory twice, whatever its size.
/// From a `ParameterSet`, the buffers themselves are used (and a trainer may change them between passes).
final class WeightStore {
    enum Source {
        case checkpoint(Checkpoint)
        case memory(ParameterSet)
    }

    let source: Source
    let architecture: Architecture
    private var blocks: [Int: BlockWeights] = [:]
    private var models: [String: Buffer] = [:]
    /// Float32 copies of the matrices not stored as float32, when kept (`Widening.automatic`).
    private let copies: WidenedCopies?
    var widenedCopyBytes: Int? { copies?.bytes }
    /// The engine runs passes on two threads at once (analysis and live ablation): the caches
    /// above are shared between them.
    private let lock = NSLock()

    init(source: Source, architecture: Architecture, widening: Widening = .automatic) throws {
        self.source = source
        self.architecture = architecture
        for (name, shape) in architecture.expectedShapes {
            switch source {
            case .checkpoint(let checkpoint):
                try checkpoint.source.checkTensor(name, shape: shape, neededBy: architecture.config.modelType)
            case .memory(let parameters):
                guard parameters.shapes[name] == shape else {
                    throw InputError("", "parameter '\(name)' has shape \(parameters.shapes[name] ?? []); the architecture needs \(shape)")
                }
            }
        }
        if case .checkpoint(let checkpoint) = source, widening == .automatic {
            let names = architecture.blocks.flatMap { $0.linears.map(\.weight) } + [architecture.unembedding ?? architecture.tokenEmbedding]
            let widened = names.map { ($0, checkpoint.source.matrix($0)) }.filter { !$0.1.isPlainFloat32 }
            copies = WidenedCopies(matrices: widened.map { ($0.0, $0.1.rows * $0.1.width) })
        } else {
            copies = nil
        }
    }

    /// A tensor as float32: in place when possible, otherwise widened into new memory.
    func load(_ name: String) -> Buffer {
        switch source {
        case .memory(let parameters):
            return parameters.values[name]!
        case .checkpoint(let checkpoint):
            let matrix = checkpoint.source.matrix(name)
            if matrix.isPlainFloat32, Int(bitPattern: matrix.bytes) % MemoryLayout<Float>.alignment == 0 {
                return Buffer(borrowing: UnsafeMutableRawPointer(mutating: matrix.bytes).assumingMemoryBound(to: Float.self),
                              count: matrix.rows * matrix.width, owner: matrix.owner)
            }
            if let copies, copies.holds(name) { return copies.copy(name, of: matrix) }
            let buffer = Buffer(uninitializedCount: matrix.rows * matrix.width)
            matrix.widen(0..<matrix.rows, into: buffer.pointer)
            return buffer
        }
    }

    /// Model-level tensors (norms, position embeddings) are small and loaded once.
    func model(_ name: String) -> Buffer {
        lock.withLock {
            if let buffer = models[name] { return buffer }
            let buffer = load(name)
            models[name] = buffer
            return buffer
        }
    }

    /// A block's weights. From a checkpoint they are made once and kept: only norms and biases
    /// are widened, a few KB per block.
    func block(_ index: Int) -> BlockWeights {
        guard case .checkpoint(let checkpoint) = source else { return makeBlock(index, checkpoint: nil) }
        prefetch(index + 1, checkpoint)
        return lock.withLock {
            if let weights = blocks[index] { return weights }
            prefetch(index, checkpoint)
            let weights = makeBlock(index, checkpoint: checkpoint)
            blocks[index] = weights
            return weights
        }
    }

    /// Starts reading block `index`'s matrices from the file (the unembedding after the last
    /// block) while the current block computes.
    private func prefetch(_ index: Int, _ checkpoint: Checkpoint) {
        guard index <= architecture.blocks.count else { return }
        let names = index < architecture.blocks.count ? architecture.blocks[index].linears.map(\.weight)
            : [architecture.unembedding ?? architecture.tokenEmbedding]
        for name in names { checkpoint.source.matrix(name).prefetch() }
    }

    private func makeBlock(_ index: Int, checkpoint: Checkpoint?) -> BlockWeights {
        let weights = BlockWeights()
        let matrices = Set(architecture.blocks[index].linears.map(\.weight))
        for name in architecture.blocks[index].tensorNames {
            if matrices.contains(name), let matrix = checkpoint?.source.matrix(name), !matrix.isPlainFloat32 {
                if let copies, copies.holds(name) {
                    weights.set(name, copies.copy(name, of: matrix))
                } else {
                    weights.set(name, matrix)
                }
            } else {
                weights.set(name, load(name))
            }
        }
        return weights
    }

    /// Calls `body` with consecutive row ranges of a `[rows, width]` matrix as float32: the whole
    /// matrix when it is float32 already, otherwise a panel at a time (the unembedding of a large
    /// vocabulary never widens whole).
    func forEachRowChunk(_ name: String, _ body: (Range<Int>, UnsafePointer<Float>) -> Void) {
        guard case .checkpoint(let checkpoint) = source else {
            guard case .memory(let parameters) = source, let shape = parameters.shapes[name] else { return }
            body(0..<(shape.first ?? 1), load(name).pointer)
            return
        }
        let matrix = checkpoint.source.matrix(name)
        if matrix.isPlainFloat32 {
            body(0..<matrix.rows, model(name).pointer)
        } else if let copies, copies.holds(name) {
            let copy = copies.copy(name, of: matrix)
            withExtendedLifetime(copy) { body(0..<matrix.rows, copy.pointer) }
        } else {
            matrix.forEachPanel(body)
        }
    }

    /// One row of a `[rows, width]` matrix (an embedding lookup) into `destination`.
    func row(_ name: String, _ index: Int, into destination: UnsafeMutablePointer<Float>) {
        switch source {
        case .memory(let parameters):
            let width = architecture.embeddingWidth
            destination.update(from: parameters.values[name]!.pointer + index * width, count: width)
        case .checkpoint(let checkpoint):
            checkpoint.source.matrix(name).widen(index..<(index + 1), into: destination)
        }
    }
}
