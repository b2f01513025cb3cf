import CBLAS
import Foundation

/// The OpenBLAS calls neurotop makes, row-major throughout.
public enum BLAS {
    /// C[M×N] = alpha · op(A) · op(B) + beta · C, with leading dimensions as stored.
    @inline(__always)
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            for row in 0..<m { for column in 0..<n { c[row * ldc + column] *= beta } }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Called once at start-up: freed activation buffers stay in the heap for the next pass.
    public static func keepFreedMemory() { neurotop_keep_freed_memory() }

    public static var threads: Int {
        get { Int(neurotop_blas_threads()) }
        set { neurotop_blas_set_threads(Int32(newValue)) }
    }

    /// The machine's measured sgemm speed in GFLOP/s on square matrices of `size`, best of `runs`,
    /// with `sideBySide` products on as many threads at once (as an evaluation scores its chunks).
    public static func measuredPeak(size: Int = 1536, runs: Int = 5, sideBySide: Int = 1) -> Double {
        let operands = (0..<max(1, sideBySide)).map { _ in
            let a = Buffer(count: size * size), b = Buffer(count: size * size), c = Buffer(count: size * size)
            for i in 0..<(size * size) { a[i] = Float(i % 7) * 0.01; b[i] = Float(i % 5) * 0.01 }
            return (a, b, c)
        }
        var best = Double.infinity
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            DispatchQueue.concurrentPerform(iterations: operands.count) { index in
                let (a, b, c) = operands[index]
                gemm(m: size, n: size, k: size, a: a.pointer, lda: size, b: b.pointer, ldb: size, c: c.pointer, ldc: size)
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(operands.count) * 2 * pow(Double(size), 3) / best / 1e9
    }
}
