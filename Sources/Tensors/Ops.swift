import Foundation

/// Elementwise and row-wise operations with their backward passes, side by side (llm.c style).
/// All buffers are row-major `[rows, width]`.
public enum Ops {
    // MARK: LayerNorm (GPT-2)

    /// y = (x − mean) / sqrt(var + eps) · w + b per row; saves mean and rstd for the backward.
    public static func layerNormForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                                 rstd: UnsafeMutablePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 rows: Int, width: Int, epsilon: Float) {
        for row in 0..<rows {
            let xr = x + row * width, yr = y + row * width
            var sum = 0.0
            for i in 0..<width { sum += Double(xr[i]) }
            let m = sum / Double(width)
            var variance = 0.0
            for i in 0..<width { let d = Double(xr[i]) - m; variance += d * d }
            let s = 1 / (variance / Double(width) + Double(epsilon)).squareRoot()
            let (mf, sf) = (Float(m), Float(s))
            for i in 0..<width { yr[i] = (xr[i] - mf) * sf * weight[i] + (bias?[i] ?? 0) }
            mean[row] = mf
            rstd[row] = sf
        }
    }

    /// dx += LayerNorm backward of dy; the weight and bias gradients are added to `dWeight` and
    /// `dBias` when given (training needs them, the analyses do not).
    public static func layerNormBackward(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                                  rstd: UnsafePointer<Float>, weight: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                                  rows: Int, width: Int, dWeight: UnsafeMutablePointer<Float>? = nil, dBias: UnsafeMutablePointer<Float>? = nil) {
        for row in 0..<rows {
            let dyr = dy + row * width, xr = x + row * width, dxr = dx + row * width
            let (m, s) = (mean[row], rstd[row])
            if let dWeight, let dBias {
                for i in 0..<width {
                    dWeight[i] += dyr[i] * (xr[i] - m) * s
                    dBias[i] += dyr[i]
                }
            }
            var meanG = 0.0, meanGX = 0.0
            for i in 0..<width {
                let g = Double(dyr[i] * weight[i])
                meanG += g
                meanGX += g * Double((xr[i] - m) * s)
            }
            let (a, b) = (Float(meanG / Double(width)), Float(meanGX / Double(width)))
            for i in 0..<width {
                let xhat = (xr[i] - m) * s
                dxr[i] += s * (dyr[i] * weight[i] - a - xhat * b)
            }
        }
    }

    // MARK: RMSNorm (Llama family)

    /// y = x / sqrt(mean(x²) + eps) · w per row; saves rstd.
    public static func rmsNormForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                               weight: UnsafePointer<Float>, rows: Int, width: Int, epsilon: Float) {
        for row in 0..<rows {
            let xr = x + row * width, yr = y + row * width
            var squares = 0.0
            for i in 0..<width { squares += Double(xr[i]) * Double(xr[i]) }
            let s = Float(1 / (squares / Double(width) + Double(epsilon)).squareRoot())
            for i in 0..<width { yr[i] = weight[i] * (xr[i] * s) }
            rstd[row] = s
        }
    }

    /// dx += RMSNorm backward of dy; the weight gradient is added to `dWeight` when given.
    public static func rmsNormBackward(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                weight: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, rows: Int, width: Int,
                                dWeight: UnsafeMutablePointer<Float>? = nil) {
        for row in 0..<rows {
            let dyr = dy + row * width, xr = x + row * width, dxr = dx + row * width
            let s = rstd[row]
            if let dWeight {
                for i in 0..<width { dWeight[i] += dyr[i] * xr[i] * s }
            }
            var meanGX = 0.0
            for i in 0..<width { meanGX += Double(dyr[i] * weight[i]) * Double(xr[i] * s) }
            let b = Float(meanGX / Double(width))
            for i in 0..<width { dxr[i] += s * (dyr[i] * weight[i] - xr[i] * s * b) }
        }
    }

    // MARK: Activations

    /// e^x to about 2 ulp, written so that loops over it vectorise (no branches, no libm call):
    /// x = n·ln2 + r with |r| ≤ ln2/2, e^r by Cephes' polynomial, 2^n through the exponent bits.
    @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let clamped = min(max(x, -87.0), 88.0)
        // Adding 1.5·2²³ rounds to an integer held in the low mantissa bits, without a rounding
        // instruction or a checked conversion (either would stop the loop from vectorising).
        let shifted = clamped * 1.44269504 + 12_582_912
        let n = shifted - 12_582_912
        let r = (clamped - n * 0.693359375) + n * 2.12194440e-4
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let er = p * r * r + r + 1
        let exponent = (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23
        return er * Float(bitPattern: exponent)
    }

    public static func activationForward(_ kind: Activation, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        switch kind {
        case .geluTanh:
            // 0.5·x·(1 + tanh(u)) = x·σ(2u), u = √(2/π)·(x + 0.044715x³).
            for i in 0..<count {
                let v = x[i]
                y[i] = v / (1 + exp(-1.5957691216057308 * (v + 0.044715 * v * v * v)))
            }
        case .gelu:
            for i in 0..<count { let v = x[i]; y[i] = 0.5 * v * (1 + erf(v * 0.7071067811865476)) }
        case .silu:
            for i in 0..<count { let v = x[i]; y[i] = v / (1 + exp(-v)) }
        case .relu:
            for i in 0..<count { y[i] = max(x[i], 0) }
        }
    }

    /// dx = dy · act'(x).
    public static func activationBackward(_ kind: Activation, _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                   _ dx: UnsafeMutablePointer<Float>, count: Int) {
        switch kind {
        case .geluTanh:
            for i in 0..<count {
                let v = x[i]
                let sigma = 1 / (1 + exp(-1.5957691216057308 * (v + 0.044715 * v * v * v)))
                let t = 2 * sigma - 1
                let derivative = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * 0.7978845608028654 * (1 + 3 * 0.044715 * v * v)
                dx[i] = dy[i] * derivative
            }
        case .gelu:
            for i in 0..<count {
                let v = x[i]
                let derivative = 0.5 * (1 + erf(v * 0.7071067811865476)) + v * Foundation.exp(-0.5 * v * v) * 0.3989422804014327
                dx[i] = dy[i] * derivative
            }
        case .silu:
            for i in 0..<count {
                let v = x[i]
                let sigma = 1 / (1 + exp(-v))
                dx[i] = dy[i] * sigma * (1 + v * (1 - sigma))
            }
        case .relu:
            for i in 0..<count { dx[i] = x[i] > 0 ? dy[i] : 0 }
        }
    }

    // MARK: Rotary position embedding

    /// Rotates the first `rotary` dimensions of each head of `x` (`[rows, heads·headDim]`) by its
    /// row's angles (`[rows, rotary/2]`): the two halves as pairs (Llama, GPT-NeoX), or
    /// neighbours when `interleaved` (GPT-J). `inverse` for the backward.
    public static func rotary(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int, rotary: Int, interleaved: Bool = false,
                       cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, inverse: Bool) {
        let half = rotary / 2
        let sign: Float = inverse ? -1 : 1
        let (stride, partner) = interleaved ? (2, 1) : (1, half)
        for row in 0..<rows {
            let c = cos + row * half, s = sin + row * half
            for head in 0..<heads {
                let v = x + row * heads * headDim + head * headDim
                for i in 0..<half {
                    let (first, second) = (i * stride, i * stride + partner)
                    let (a, b) = (v[first], v[second])
                    v[first] = a * c[i] - sign * b * s[i]
                    v[second] = b * c[i] + sign * a * s[i]
                }
            }
        }
    }

    // MARK: Helpers

    /// y[rows, width] += bias per row.
    public static func addBias(_ y: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, width: Int) {
        for row in 0..<rows {
            let yr = y + row * width
            for i in 0..<width { yr[i] += bias[i] }
        }
    }

    public static func add(_ a: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += a[i] }
    }

    /// Σ x·y over millions of elements: 16-lane float partial sums over chunks of 4096, the chunks
    /// added in double (Swift does not reorder a scalar float sum into vector lanes by itself).
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Double {
        var total = 0.0
        var start = 0
        while start < count {
            let end = min(start + 4096, count)
            var lanes = SIMD16<Float>()
            var i = start
            while i + 16 <= end {
                let a = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
                let b = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
                // Not addProduct: without FMA in the target, a fused SIMD multiply-add becomes a
                // libm fmaf call per lane, which made this loop a fifth of a pattern step.
                lanes += a * b
                i += 16
            }
            var chunk = Double(lanes.sum())
            while i < end {
                chunk += Double(x[i] * y[i])
                i += 1
            }
            total += chunk
            start = end
        }
        return total
    }
}

/// The MLP nonlinearities of the supported families, by their `config.json` names.
public enum Activation: Sendable {
    case geluTanh, gelu, silu, relu

    public init?(configName: String) {
        switch configName {
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_python_tanh": self = .geluTanh
        case "gelu", "gelu_python": self = .gelu
        case "silu", "swish": self = .silu
        case "relu": self = .relu
        default: return nil
        }
    }
}
