import ArgumentParser
import Analysis

/// How a Parameter Specialization Score is measured (METHODS.md, method 1, steps 2 and 5): the
/// same options wherever one is computed.
struct PSSOptions: ParsableArguments {
    @Option(help: "The accuracy PSS is computed from (default mcq; under mcq a question without choices is not used).")
    var metric = AccuracyMetric.mcq

    @Option(help: "PSS's control set.")
    var control = ControlSet.five

    @Option(help: "The questions PSS's accuracies are taken over.")
    var questions = PSSQuestions.known

    @Option(help: "What neurons are ranked by for a concept's knowledge vectors.")
    var association = Association.raw
}

// The engine's option types as values of the options above; each value's description is what
// `--help` lists beside it.

extension AccuracyMetric: ExpressibleByArgument {
    public var defaultValueDescription: String {
        switch self {
        case .open: "greedy decoding reproduces the answer"
        case .mcq: "the answer has the highest summed log-probability among the choices"
        }
    }
}

extension ControlSet: ExpressibleByArgument {
    public var defaultValueDescription: String {
        switch self {
        case .five: "the questions of \(SpecializationScore.controlConcepts) other concepts, drawn with a fixed seed per concept"
        case .all: "the questions of every other concept"
        }
    }
}

extension PSSQuestions: ExpressibleByArgument {
    public var defaultValueDescription: String {
        switch self {
        case .known: "those answered correctly with nothing masked"
        case .all: "every question"
        }
    }
}

extension Association: ExpressibleByArgument {
    public var defaultValueDescription: String {
        switch self {
        case .raw: "Δ, the difference of mean pooled coefficients"
        case .standardized: "Δ/σ, σ the standard deviation of the pooled coefficient over all questions"
        }
    }
}
