import ArgumentParser
import RunLog

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Write a realistic synthetic run.")

    func run() throws {
        throw CLIError.cannotRead("demo: not available yet")
    }
}
