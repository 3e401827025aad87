// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// The text forms, compared with the exact expected text.
@Suite struct GoldenOutputTests {
    @Test func dumpPrintsEveryKindOfRecordAsReadableText() throws {
        let r = try CLI.run(["dump", "all-kinds.rlog"], in: CLI.vectors)
        #expect(r.status == 0)
        #expect(r.stderr == "")
        #expect(r.stdout == #"""
            header     file="all-kinds.rlog" run_id="all-kinds_1" attempt=1 rank=0 segment=0 created=2025-11-26T15:40:52.123456Z writer="runlog-vectors/1"
            run_start  run_id="all-kinds_1" project="mnist" name="cnn" group="sweep-3" tags=["ignite","baseline"] notes="first try\nwith a \"quote\"" host="node17" pid=4242 start_time=2025-11-26T15:40:52.123456Z attempt=1 rank=0 world_size=2 job_id="812345" argv=["train.py","--lr","0.01"] writer="runlog-vectors/1"
            config     lr=0.01 batch_size=64 nesterov=true scheduler=null optimizer={"name":"sgd","momentum":0.9,"betas":[0.9,0.999]} eps=1e-08 big=1.5e+16
            metrics    step=0 time=2025-11-26T15:40:52.123466Z training/loss=2.5 lr=0.01
            metrics    step=1 time=2025-11-26T15:40:52.123476Z training/loss=nan
            metrics    step=2 time=2025-11-26T15:40:52.123486Z training/loss=inf validation/accuracy=0.25
            metrics    step=1 time=2025-11-26T15:40:52.123496Z training/loss=-inf lr=-0.0
            metrics    step=10 time=2025-11-26T15:40:52.123506Z f32=0.5
            metrics    step=11 time=2025-11-26T15:40:52.123516Z f32=0.25
            metrics    step=12 time=2025-11-26T15:40:52.123526Z f32=0.0010000000474974513
            histogram  step=2 time=2025-11-26T15:40:52.123536Z key=grads/fc1.weight bins=4 range=[-1.0,1.0] count=8 min=-0.9 max=0.99 sum=0.5 sum_squares=3.25 nonfinite=1 counts=[1,0,5,2]
            histogram  step=3 time=2025-11-26T15:40:52.123546Z key=weights bins=3 edges=[0.0,1.0,10.0,100.0] count=6 min=0.0 max=50.0 sum=70.0 sum_squares=2600.0 nonfinite=0 counts=[3,2,1]
            checkpoint step=2 time=2025-11-26T15:40:52.123556Z name="best" path="checkpoints/best/step-2.pt" size=11 sha256=74c24dae6de5def220b3b9c31540dbb31934b9e5b6dbd37427ee1f21abe7e7e6 aliases=["best","latest"] metadata={"accuracy":0.25,"epoch":1}
            tags       add=["best"] remove=["baseline"] notes=""
            tags       add=[] remove=[]
            summary    best_acc=0.5 epochs=1
            unknown    type=200 length=2
            run_end    status=failed exit_code=-9 end_time=2025-11-26T15:40:52.123656Z message="CUDA out of memory"

            """#)
    }

    @Test func dumpKindConsoleShowsConsoleRecordsOnly() throws {
        let r = try CLI.run(["dump", "--kind", "console", "console.rlog"], in: CLI.vectors)
        #expect(r.status == 0)
        #expect(r.stderr == "")
        #expect(r.stdout == #"""
            console    stream=stdout time=2025-11-26T15:40:52.123466Z text="epoch 1\nloss 0.5\n"
            console    stream=stderr time=2025-11-26T15:40:52.123476Z text="Traceback (most recent call last):\n  \"é\"\t✓\n"
            console    stream=stdout time=2025-11-26T15:40:52.123486Z text="train:  40%|████"
            console    stream=stdout time=2025-11-26T15:40:52.123496Z dropped=12345 text="\rtrain: 100%|██████████|\n"
            console    stream=stdout time=2025-11-26T15:40:52.123506Z text=""
            console    stream=7 time=2025-11-26T15:40:52.123516Z text="x\n"

            """#)
    }

    @Test func dumpPrintsTheEnvironmentAsKeyValuePairs() throws {
        let r = try CLI.run(["dump", "--kind", "environment", "environment.rlog"], in: CLI.vectors)
        #expect(r.status == 0)
        #expect(r.stderr == "")
        #expect(r.stdout == #"""
            environment program="/home/ada/mnist/train.py" cwd="/home/ada/mnist" git={"commit":"0123456789abcdef0123456789abcdef01234567","branch":"main","remote":"https://github.com/ada/mnist.git","dirty":true} runtime="python 3.11.2" os="Linux 6.1.0-18-amd64 x86_64" cpu={"model":"AMD EPYC 7763 64-Core Processor","count":128} memory=540000000000 gpu={"count":2,"names":["NVIDIA A100-SXM4-80GB","NVIDIA A100-SXM4-80GB"],"memory":[85899345920,85899345920],"driver":"550.54.15","cuda":"12.4"} scheduler={"name":"slurm","job_id":"812345","array_task_id":"3","nodes":"gpu[01-02]","partition":"a100"} packages=["numpy==1.26.4","torch==2.3.0"]

            """#)
    }

    @Test func statsShowsTheEnvironment() throws {
        let r = try CLI.run(["stats", "environment.rlog"], in: CLI.vectors)
        #expect(r.status == 0 && r.stderr == "")
        #expect(r.stdout.hasSuffix("""

            environment
              program     /home/ada/mnist/train.py
              directory   /home/ada/mnist
              git         0123456789ab on main (dirty) https://github.com/ada/mnist.git
              runtime     python 3.11.2
              os          Linux 6.1.0-18-amd64 x86_64
              cpu         128 × AMD EPYC 7763 64-Core Processor
              memory      502.9 GiB
              gpus        2 × NVIDIA A100-SXM4-80GB, driver 550.54.15, CUDA 12.4
              job         slurm 812345, task 3, partition a100, nodes gpu[01-02]
              packages    2 installed

            """), "\(r.stdout)")
        let json = try #require(try CLI.jsonLines(try CLI.run(["stats", "--json", "environment.rlog"], in: CLI.vectors).stdout).first)
        let env = try #require(json["environment"] as? [String: Any])
        #expect((env["git"] as? [String: Any])?["commit"] as? String == "0123456789abcdef0123456789abcdef01234567")
        #expect(env["packages"] as? [String] == ["numpy==1.26.4", "torch==2.3.0"])
    }

    @Test func dumpJSONIsTheCanonicalFormOfTheSpecVectors() throws {
        for name in ["minimal", "all-kinds", "multi-frame", "console"] {
            let r = try CLI.run(["dump", "--json", "\(name).rlog"], in: CLI.vectors)
            #expect(r.status == 0)
            #expect(r.stdout == (try String(contentsOfFile: CLI.vectors + "/\(name).jsonl", encoding: .utf8)), "\(name)")
        }
    }

    @Test func verifyListsDamageWithOffsetAndBytesDropped() throws {
        let r = try CLI.run(["verify", "damaged-middle.rlog"], in: CLI.vectors)
        #expect(r.status == 1)
        #expect(r.stdout == """
            damaged-middle.rlog: offset 591: 448 bytes dropped: frame payload checksum mismatch or undecodable payload
            damaged-middle.rlog: damaged: 5 frames, 5 records, 1.9 KiB
            damaged: 1 problem, 448 bytes dropped (1 file, 5 frames, 5 records)

            """)
    }

    @Test func verifyReportsAnIncompleteTailButCallsTheLogIntact() throws {
        let r = try CLI.run(["verify", "torn-tail.rlog"], in: CLI.vectors)
        #expect(r.status == 0)
        #expect(r.stdout == """
            torn-tail.rlog: offset 1913: incomplete tail of 10 bytes (incomplete frame header): its writer is still running or crashed
            torn-tail.rlog: ok: 5 frames, 5 records, 1.9 KiB
            intact, with 1 incomplete tail (1 file, 5 frames, 5 records)

            """)
        let quiet = try CLI.run(["verify", "--quiet", "minimal.rlog"], in: CLI.vectors)
        #expect(quiet.status == 0)
        #expect(quiet.stdout == "intact (1 file, 1 frames, 3 records)\n")
    }

    @Test func exportWritesLongAndWideCSV() throws {
        let long = try CLI.run(["export", "--csv", "all-kinds.rlog"], in: CLI.vectors)
        #expect(long.status == 0)
        #expect(long.stdout == """
            step,time,key,value
            0,1764171652.123466,training/loss,2.5
            0,1764171652.123466,lr,0.01
            1,1764171652.123476,training/loss,nan
            2,1764171652.123486,training/loss,inf
            2,1764171652.123486,validation/accuracy,0.25
            1,1764171652.123496,training/loss,-inf
            1,1764171652.123496,lr,-0.0
            10,1764171652.123506,f32,0.5
            11,1764171652.123516,f32,0.25
            12,1764171652.123526,f32,0.0010000000474974513

            """)
        let wide = try CLI.run(["export", "--csv", "--wide", "--steps", "1:11", "all-kinds.rlog"], in: CLI.vectors)
        #expect(wide.status == 0)
        #expect(wide.stdout == """
            step,time,training/loss,lr,validation/accuracy,f32
            1,1764171652.123476,nan,,,
            2,1764171652.123486,inf,,0.25,
            1,1764171652.123496,-inf,-0.0,,
            10,1764171652.123506,,,,0.5
            11,1764171652.123516,,,,0.25

            """)
    }

    @Test func exportQuotesKeysThatNeedIt() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let block = MetricsBlock(keys: ["a,b", "say \"hi\""], steps: [3], times: [Fixtures.t0], values: [[1.5], [2]])
        try Fixtures.writeLog(dir + "/q.rlog", header: Fixtures.header("q"), frames: [[.metrics(block)]])
        let r = try CLI.run(["export", "--csv", dir + "/q.rlog"])
        #expect(r.stdout == "step,time,key,value\n3,1764171652.000000,\"a,b\",1.5\n3,1764171652.000000,\"say \"\"hi\"\"\",2.0\n")
    }

    @Test func statsSummarizesCurvesHistogramsAndCheckpoints() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var records: [[Record]] = [[.runStart(Fixtures.runStart("s1"))]]
        records.append(Fixtures.metrics(rows: 640, perBlock: 100))
        var h = Histogram(key: "weights", step: 100, time: Fixtures.t0 + 100_000, bins: .uniform(low: -1, high: 1), counts: [1, 2, 3, 4])
        h.count = 10
        records.append([.histogram(h)])
        h.step = 200
        records.append([.histogram(h)])
        let c = Checkpoint(name: "model", step: 300, time: Fixtures.t0 + 300_000, path: "checkpoints/model/300-m.bin", size: 2048, sha256: [UInt8](repeating: 1, count: 32))
        records.append([.checkpoint(c), Fixtures.runEnd(.finished)])
        try Fixtures.writeLog(dir + "/s.rlog", header: Fixtures.header("s1"), frames: records)
        let size = (try FileManager.default.attributesOfItem(atPath: dir + "/s.rlog")[.size] as! NSNumber).int64Value
        let r = try CLI.run(["stats", "s.rlog"], in: dir)
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "run         s1  project mnist  name cnn  finished")
        #expect(lines[1] == "files       1 file, 5 frames")
        #expect(lines[2] == "records     header 1, run_start 1, metrics 640 rows in 7 blocks, histogram 2, checkpoint 1, run_end 1")
        #expect(lines[3] == "time        2025-11-26T15:40:52.000000Z to 2025-11-26T15:41:01.000000Z (9.00s)")
        #expect(lines[4].hasPrefix("size        \(String(format: "%.1f KiB", Double(size) / 1024)) on disk ("))
        #expect(lines[5].hasPrefix("            of which metrics ≈ "))
        #expect(lines[5].contains(" bytes per point), histograms ≈ "))
        #expect(Array(lines[6...]) == """

            metrics
              KEY       COUNT  FIRST STEP  LAST STEP       MIN        MAX       LAST  CURVE
              loss        640           0        639  0.003125        2.0   0.003125  █▂▂▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁
              accuracy    640           0        639       0.0  0.9984375  0.9984375  ▁▁▁▂▂▂▂▃▃▃▃▃▄▄▄▄▅▅▅▅▆▆▆▆▆▇▇▇▇███

            histograms
              KEY      COUNT  FIRST STEP  LAST STEP  BINS
              weights      2         100        200     4

            checkpoints
              NAME   COUNT  FIRST STEP  LAST STEP    BYTES  LATEST
              model      1         300        300  2.0 KiB  checkpoints/model/300-m.bin

            """.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
    }
}
