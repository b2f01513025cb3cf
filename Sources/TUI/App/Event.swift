import Analysis
import Model

/// A key as the front end understands it, whatever the terminal sent.
public enum Key: Hashable, Sendable {
    case character(Character)
    /// Ctrl plus a letter: `.control("c")` is Ctrl-c.
    case control(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, tab, backTab, backspace, delete
}

/// Something that happened, as a value: input from the terminal, or the outcome of an effect.
public enum Event: Sendable {
    case key(Key)
    /// A left click at a screen cell, already resolved to what was drawn there (nil: nothing).
    case click(Target?)
    /// The mouse wheel: -1 up, +1 down.
    case wheel(Int)
    case resize(width: Int, height: Int)
    /// An ablation set read from a file.
    case ablationLoaded([NeuronID], path: String)
    case saved(count: Int, path: String)
    case failed(String)
}

/// What a click can land on; each view records where it drew these.
public enum Target: Equatable, Sendable {
    case page(Page)
    case neuron(NeuronID)
    case concept(Int)
    case pair(Int)
    case block(Int)
    case ablation(Int)
}

/// What the state asks the world to do: the engine, the file system, the loop.
public enum Effect: Equatable, Sendable {
    case setAblation(Ablation)
    case focus(EngineFocus)
    case save([NeuronID], path: String)
    case load(path: String)
    /// Ctrl-z: give the terminal back and stop, as a shell job, until `fg`.
    case suspend
    case quit
}
