// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import RunLog

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Write a realistic synthetic run with the logger, for demos, benchmarks and tests.",
        discussion: """
            A config, tags, and at every step 4 float64 metrics: loss (decaying, with noise), \
            accuracy (rising), lr (cosine schedule) and grad_norm (noisy); a 64-bin histogram \
            of a 100,000-value weight array every --histograms-every steps; a checkpoint file \
            of about 1 MB every --checkpoint-every steps; a summary and a run end. The curves \
            depend on --seed alone. The last line on standard output is the run directory.

            With --rate it imitates live training, so that `runlog dump --follow` or syncd \
            can watch it; Ctrl-C (or SIGTERM) ends the run as killed.

            Exit status: 0 when the run is written; 2 when it cannot be created or written, \
            or on bad usage; 130 when interrupted (the run then ends as killed).

            Examples:
              runlog demo --dir /tmp/runlogs
              runlog demo --steps 100000 --rate 200 --project mnist --name live-demo
              run=$(runlog demo --steps 1000 | tail -n 1) && runlog stats "$run"
            """)

    @Option(help: "Steps to log.")
    var steps: Int = 10_000

    @Option(help: ArgumentHelp("Steps per second, to imitate live training (default: as fast as possible).", valueName: "steps/s"))
    var rate: Double?

    @Option(help: ArgumentHelp("Log a weight histogram every K steps; 0 for none.", valueName: "K"))
    var histogramsEvery: Int = 100

    @Option(help: ArgumentHelp("Save a checkpoint of about 1 MB every M steps; 0 for none.", valueName: "M"))
    var checkpointEvery: Int = 2_500

    @Option(help: ArgumentHelp("The root directory (default: $RUNLOG_DIR, else ./runlogs).", valueName: "root"))
    var dir: String?

    @Option(help: "The project name.")
    var project: String = "demo"

    @Option(help: "The run's display name.")
    var name: String = "synthetic"

    @Option(help: ArgumentHelp("The run id (default: 8 random characters); an existing run gets a new attempt.", valueName: "id"))
    var id: String?

    @Option(help: "The seed of the curves.")
    var seed: UInt64 = 1

    func validate() throws {
        guard steps >= 0 else { throw ValidationError("--steps must be 0 or more") }
        guard histogramsEvery >= 0, checkpointEvery >= 0 else { throw ValidationError("--histograms-every and --checkpoint-every must be 0 or more") }
        if let rate { guard rate > 0, rate.isFinite else { throw ValidationError("--rate must be a positive number of steps per second") } }
    }

    func run() throws {
        var curves = DemoCurves(steps: steps, seed: seed)
        let config: [String: Value] = [
            "model": "resnet18", "optimizer": ["name": "sgd", "momentum": 0.9, "nesterov": true],
            "lr": .double(curves.peakLR), "batch_size": 128, "steps": .int(Int64(steps)), "seed": .int(Int64(seed)),
        ]
        let run: Run
        do {
            run = try Run(project: project, name: name, config: config, tags: ["demo", "synthetic"],
                          notes: "written by runlog demo", id: id, root: dir)
        } catch {
            throw CLIError.cannotRead("demo: \(error)")
        }
        guard let directory = run.directory else { throw CLIError.cannotRead("demo: logging is disabled (RUNLOG_MODE)") }
        StopSignals.install()
        let keys = run.keys("loss", "accuracy", "lr", "grad_norm")
        let progress = Progress(total: steps, enabled: Diagnostics.isTerminal) { "step \($0)/\($1)" }
        let start = monotonicSeconds()
        var best = 0.0
        var interrupted = false
        for step in 0..<steps {
            if StopSignals.requested { interrupted = true; break }
            if let rate {
                let due = start + Double(step) / rate
                let wait = due - monotonicSeconds()
                if wait > 0 { usleep(useconds_t(min(wait, 1) * 1e6)) }
            }
            let row = curves.row(step)
            run.log(keys, row.loss, row.accuracy, row.lr, row.gradNorm, step: Int64(step))
            best = max(best, row.accuracy)
            if histogramsEvery > 0, step % histogramsEvery == 0 {
                run.logHistogram("weights/fc1", values: curves.weights(at: step), bins: 64, step: Int64(step))
            }
            if checkpointEvery > 0, step > 0, step % checkpointEvery == 0 {
                try saveCheckpoint(run, &curves, step: step, loss: row.loss)
            }
            progress.update(step + 1)
        }
        progress.done()
        run.summary.update(["best_accuracy": .double(best), "steps": .int(Int64(steps))])
        if interrupted {
            run.finish(status: .killed, exitCode: 130, message: "interrupted")
        } else {
            run.finish(exitCode: 0)
        }
        let output = Output()
        output.write(directory.path + "\n")
        output.flush()
        if interrupted { Glibc.exit(130) }
    }

    /// Writes ~1 MB of model weights to a temporary file and saves it as the checkpoint "model".
    private func saveCheckpoint(_ run: Run, _ curves: inout DemoCurves, step: Int, loss: Double) throws {
        let temporary = URL(fileURLWithPath: NSTemporaryDirectory() + "runlog-demo-\(getpid())")
        let file = temporary.appendingPathComponent("model.bin")
        defer { try? FileManager.default.removeItem(at: temporary) }
        do {
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
            try curves.checkpointBytes(step: step).write(to: file)
            try run.saveCheckpoint(name: "model", file: file, step: Int64(step), aliases: ["latest"], metadata: ["loss": .double(loss)])
        } catch {
            throw CLIError.cannotRead("demo: checkpoint at step \(step): \(error)")
        }
    }
}
