// Deterministic multi-threaded Java work with plenty of garbage (a thread pool, short-lived
// objects, collections), one line per step appended to OUTFILE.
//   java -cp DIR Steps OUTFILE STEPS STEP_MS
import java.io.FileWriter;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

public class Steps {
    static final int WORKERS = 4;

    public static void main(String[] args) throws Exception {
        String out = args[0];
        int steps = Integer.parseInt(args[1]);
        int ms = Integer.parseInt(args[2]);
        ExecutorService pool = Executors.newFixedThreadPool(WORKERS);
        List<long[]> kept = new ArrayList<>();
        try (PrintWriter w = new PrintWriter(new FileWriter(out, true))) {
            for (int s = 0; s < steps; s++) {
                final int step = s;
                List<Future<Long>> parts = new ArrayList<>();
                for (int t = 0; t < WORKERS; t++) {
                    final int id = t;
                    parts.add(pool.submit(() -> work(step, id)));
                }
                long sum = 0;
                for (Future<Long> f : parts) sum += f.get();
                kept.add(new long[4096]);
                w.printf("step %d sum %d kept %d%n", s, sum, kept.size());
                w.flush();
                Thread.sleep(ms);
            }
            w.println("done");
        }
        pool.shutdown();
        System.out.println("Steps finished " + steps + " steps");
    }

    static long work(int step, int id) {
        long h = step * 31L + id;
        List<int[]> some = new ArrayList<>();
        for (int i = 0; i < 50000; i++) {
            int[] x = new int[32];
            x[i % 32] = i ^ step;
            h = h * 1000003L + x[i % 32];
            if (i % 500 == 0) some.add(x);
        }
        HashMap<Integer, String> m = new HashMap<>();
        for (int i = 0; i < 5000; i++) m.put(i, Integer.toString(i * (step + 1)));
        for (int i = 0; i < 5000; i++) h = h * 31 + m.get(i).hashCode();
        return h + some.size();
    }
}
