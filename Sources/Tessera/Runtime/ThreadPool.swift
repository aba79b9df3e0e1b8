#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A fixed set of worker threads that run one parallel region at a time.
/// Work is split by the caller statically by thread index; the pool only
/// starts and joins. While a run is in progress (`busy`) a worker that has
/// finished its share spins on the region counter, so the next region starts
/// without a wake-up: a region whose shares end unevenly (attention's six
/// heads on two threads) used to outlast the short spin, and the next
/// region then waited for a woken thread (tens of microseconds under a
/// hypervisor, for each of a run's hundred regions). Outside a run a worker
/// spins a few tens of microseconds, then sleeps on a condition variable, so
/// an idle session costs no CPU and a host that embeds Tessera keeps its cores.
final class ThreadPool {
    /// Threads taking part in a region, the calling thread included.
    let count: Int
    private var threads: [pthread_t] = []
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Incremented (release) once a region's task and context are set.
    private let generation = Atomic<Int>(0)
    /// Workers still running the current region.
    private let pending = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// Set for the length of a run (`busy(_:)`): workers spin instead of sleeping.
    private let inRun = Atomic<Bool>(false)
    /// The region's work: a C function pointer and its context, so that
    /// starting a region allocates nothing (a stored Swift closure would).
    typealias Task = @convention(c) (UnsafeMutableRawPointer, Int, Int) -> Void
    private var task: Task? = nil
    private var context: UnsafeMutableRawPointer? = nil

    /// Polls of the region counter before a worker goes to sleep.
    static let spinPolls = 20_000

    private final class Start {
        unowned let pool: ThreadPool
        let index: Int
        init(pool: ThreadPool, index: Int) { self.pool = pool; self.index = index }
    }

    init(threads: Int) throws {
        count = max(1, threads)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
        for i in 1..<count {
            let start = Unmanaged.passRetained(Start(pool: self, index: i)).toOpaque()
            var tid = pthread_t()
            let rc = pthread_create(&tid, nil, { arg in
                let s = Unmanaged<Start>.fromOpaque(arg!).takeRetainedValue()
                s.pool.workerLoop(s.index)
                return nil
            }, start)
            if rc != 0 {
                Unmanaged<Start>.fromOpaque(start).release()
                shutdown()
                throw TesseraError.outOfMemory("cannot start worker thread \(i) of \(count) (error \(rc))")
            }
            self.threads.append(tid)
        }
    }

    deinit {
        shutdown()
        pthread_cond_destroy(done); pthread_cond_destroy(wake); pthread_mutex_destroy(mutex)
        done.deallocate(); wake.deallocate(); mutex.deallocate()
    }

    /// Stops and joins the workers; idempotent. The owner must call it: a
    /// running worker holds the pool alive.
    func shutdown() {
        pthread_mutex_lock(mutex)
        stopping.store(true, ordering: .releasing)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for t in threads { pthread_join(t, nil) }
        threads.removeAll()
    }

    private func workerLoop(_ index: Int) {
        var seen = 0
        while true {
            // Spin a little: the next region of a run usually starts soon.
            var polls = 0
            while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .relaxed)
                    && (polls < ThreadPool.spinPolls || inRun.load(ordering: .relaxed)) {
                polls += 1
                // Past the short spin, during a run: give the core to any
                // other runnable thread (more threads than cores), else
                // come straight back.
                if polls >= ThreadPool.spinPolls { sched_yield() }
            }
            if generation.load(ordering: .acquiring) == seen {
                pthread_mutex_lock(mutex)
                while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .acquiring) {
                    pthread_cond_wait(wake, mutex)
                }
                pthread_mutex_unlock(mutex)
            }
            if stopping.load(ordering: .acquiring) { return }
            seen = generation.load(ordering: .acquiring)
            if let work = task, let ctx = context { work(ctx, index, count) }
            if pending.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_signal(done)
                pthread_mutex_unlock(mutex)
            }
        }
    }

    /// Runs task(context, t, count) for t in 0..<count, t = 0 on the calling
    /// thread, and returns when all have finished. Allocates nothing.
    func run(_ task: Task, _ context: UnsafeMutableRawPointer) {
        if count == 1 { task(context, 0, 1); return }
        self.task = task
        self.context = context
        pending.store(count - 1, ordering: .relaxed)
        generation.add(1, ordering: .releasing)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        task(context, 0, count)
        var polls = 0
        while pending.load(ordering: .acquiring) > 0 && polls < ThreadPool.spinPolls { polls += 1 }
        if pending.load(ordering: .acquiring) > 0 {
            pthread_mutex_lock(mutex)
            while pending.load(ordering: .acquiring) > 0 { pthread_cond_wait(done, mutex) }
            pthread_mutex_unlock(mutex)
        }
        self.task = nil
        self.context = nil
    }

    /// Runs `body` (a run's regions) with the workers spinning between regions.
    func busy(_ body: () throws -> Void) rethrows {
        if count == 1 { try body(); return }
        inRun.store(true, ordering: .relaxed)
        defer { inRun.store(false, ordering: .relaxed) }
        try body()
    }

    /// Runs task over `value` (the job's arguments) on every thread.
    func run<Job>(_ value: inout Job, _ task: Task) {
        withUnsafeMutablePointer(to: &value) { run(task, UnsafeMutableRawPointer($0)) }
    }
}
