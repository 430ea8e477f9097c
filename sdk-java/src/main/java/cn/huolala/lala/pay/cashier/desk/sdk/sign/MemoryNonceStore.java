package cn.huolala.lala.pay.cashier.desk.sdk.sign;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/** A {@link NonceStore} in this process's memory, with expiry; expired entries are swept at most once a minute. */
public final class MemoryNonceStore implements NonceStore {
    private final ConcurrentHashMap<String, Long> entries = new ConcurrentHashMap<String, Long>();
    private final LongSupplier clock;
    private volatile long nextSweep;

    public MemoryNonceStore() {
        this(System::currentTimeMillis);
    }

    public MemoryNonceStore(LongSupplier clockMillis) {
        this.clock = clockMillis;
    }

    @Override
    public boolean claim(String appId, String nonce, long expiresAtMillis) {
        final long now = clock.getAsLong();
        if (now >= nextSweep || entries.size() > 100_000) {
            sweep(now);
        }
        final String key = appId + "\n" + nonce;
        final boolean[] claimed = {false};
        entries.compute(key, (k, existing) -> {
            if (existing != null && existing > now) {
                return existing;
            }
            claimed[0] = true;
            return expiresAtMillis;
        });
        return claimed[0];
    }

    /** Remembered nonces, expired ones not yet swept included. */
    public int size() {
        return entries.size();
    }

    private void sweep(long now) {
        for (Iterator<Map.Entry<String, Long>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            if (it.next().getValue() <= now) {
                it.remove();
            }
        }
        nextSweep = now + 60_000;
    }
}
