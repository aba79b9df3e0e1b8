#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of worker threads that run one parallel region at a time.
/// Idle workers sleep on a condition variable (they never spin), so a host
/// that embeds Tessera keeps its cores between runs. Work is split by the
/// caller statically by thread index; the pool only starts and joins.
final class ThreadPool {
    /// Threads taking part in a region, the calling thread included.
    let count: Int
    private var threads: [pthread_t] = []
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var generation = 0
    private var pending = 0
    private var stopping = false
    /// The region's work: a C function pointer and its context, so that
    /// starting a region allocates nothing (a stored Swift closure would).
    typealias Task = @convention(c) (UnsafeMutableRawPointer, Int, Int) -> Void
    private var task: Task? = nil
    private var context: UnsafeMutableRawPointer? = nil

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
        stopping = true
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for t in threads { pthread_join(t, nil) }
        threads.removeAll()
    }

    private func workerLoop(_ index: Int) {
        var seen = 0
        pthread_mutex_lock(mutex)
        while true {
            while generation == seen && !stopping { pthread_cond_wait(wake, mutex) }
            if stopping { break }
            seen = generation
            let work = task, ctx = context
            pthread_mutex_unlock(mutex)
            if let work, let ctx { work(ctx, index, count) }
            pthread_mutex_lock(mutex)
            pending -= 1
            if pending == 0 { pthread_cond_signal(done) }
        }
        pthread_mutex_unlock(mutex)
    }

    /// Runs task(context, t, count) for t in 0..<count, t = 0 on the calling
    /// thread, and returns when all have finished. Allocates nothing.
    func run(_ task: Task, _ context: UnsafeMutableRawPointer) {
        if count == 1 { task(context, 0, 1); return }
        pthread_mutex_lock(mutex)
        self.task = task
        self.context = context
        pending = count - 1
        generation += 1
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        task(context, 0, count)
        pthread_mutex_lock(mutex)
        while pending > 0 { pthread_cond_wait(done, mutex) }
        self.task = nil
        self.context = nil
        pthread_mutex_unlock(mutex)
    }

    /// Runs task over `value` (the job's arguments) on every thread.
    func run<Job>(_ value: inout Job, _ task: Task) {
        withUnsafeMutablePointer(to: &value) { run(task, UnsafeMutableRawPointer($0)) }
    }
}
