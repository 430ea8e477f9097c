package cn.huolala.lala.pay.cashier.desk.sdk.sign;

import cn.huolala.lala.pay.cashier.desk.sdk.exception.SignatureVerificationException;
import cn.huolala.lala.pay.cashier.desk.sdk.exception.SignatureVerificationException.Reason;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.digests.SM3Digest;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * Signature v1 of the cashier desk, the same rule as the server's {@code signature/index.ts}.
 *
 * <ul>
 *   <li>Key: the appKey's UTF-8 bytes; HMAC-SHA256 (default) or HMAC-SM3; the signature is lowercase hex.</li>
 *   <li>Headers: {@code X-Cashier-App-Id}, {@code X-Cashier-Timestamp} (epoch ms), {@code X-Cashier-Nonce} (16–64
 *       of [A-Za-z0-9]), {@code X-Cashier-Sign-Type}, {@code X-Cashier-Signature}.</li>
 *   <li>String to sign, fields joined with {@code \n}, then the exact raw body bytes (empty for GET):
 *       request and notification {@code METHOD\npathWithQuery\nappId\ntimestamp\nnonce\nbody}; response
 *       {@code RESPONSE\npathWithQuery-of-the-request\nappId\ntimestamp\nnonce\nbody}; unified-order block
 *       {@code ORDER\nappId\noutTradeNo\ntoken\ntimestamp\nnonce}.</li>
 *   <li>Verification: constant-time compare, |now − timestamp| ≤ 300 s, a nonce once per app in 10 minutes
 *       (claimed in a {@link NonceStore} only after the signature verified, so forgeries burn no nonces).</li>
 * </ul>
 */
public final class SignatureV1 {
    public static final String HEADER_APP_ID = "X-Cashier-App-Id";
    public static final String HEADER_TIMESTAMP = "X-Cashier-Timestamp";
    public static final String HEADER_NONCE = "X-Cashier-Nonce";
    public static final String HEADER_SIGN_TYPE = "X-Cashier-Sign-Type";
    public static final String HEADER_SIGNATURE = "X-Cashier-Signature";

    /** Largest accepted |now − timestamp|: 300 s. */
    public static final long TIMESTAMP_TOLERANCE_MS = 300_000L;
    /** How long a nonce stays claimed: 10 minutes, longer than the ±5 minute window. */
    public static final long NONCE_TTL_MS = 600_000L;

    private static final Pattern NONCE = Pattern.compile("[A-Za-z0-9]{16,64}");
    private static final Pattern TIMESTAMP = Pattern.compile("[0-9]{1,16}");
    private static final Pattern METHOD = Pattern.compile("[A-Z]+");
    private static final Pattern HEX = Pattern.compile("(?:[0-9a-fA-F]{2})+");
    /** JavaScript's Number.MAX_SAFE_INTEGER: the server refuses larger timestamps, so this side does too. */
    private static final long MAX_SAFE_INTEGER = 9007199254740991L;
    private static final char[] NONCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
    private static final char[] HEX_DIGITS = "0123456789abcdef".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();

    private SignatureV1() {
    }

    // ───────────────────────────── strings to sign ─────────────────────────────

    /** {@code METHOD\npathWithQuery\nappId\ntimestamp\nnonce\nbody} (METHOD upper-cased; body raw, null = empty). */
    public static byte[] requestStringToSign(String method, String pathWithQuery, String appId, String timestamp, String nonce, byte[] body) {
        String m = field("method", method).toUpperCase(Locale.ROOT);
        if (!METHOD.matcher(m).matches()) {
            throw new IllegalArgumentException("method must be an HTTP method token");
        }
        return withBody(new String[] {m, path(pathWithQuery), field("appId", appId), timestamp(timestamp), field("nonce", nonce)}, body);
    }

    /** {@code RESPONSE\npathWithQuery-of-the-request\nappId\ntimestamp\nnonce\nbody}. */
    public static byte[] responseStringToSign(String pathWithQuery, String appId, String timestamp, String nonce, byte[] body) {
        return withBody(new String[] {"RESPONSE", path(pathWithQuery), field("appId", appId), timestamp(timestamp), field("nonce", nonce)}, body);
    }

    /** {@code ORDER\nappId\noutTradeNo\ntoken\ntimestamp\nnonce} (no trailing newline: there is no body). */
    public static byte[] orderStringToSign(String appId, String outTradeNo, String token, String timestamp, String nonce) {
        String s = "ORDER\n" + field("appId", appId) + "\n" + field("outTradeNo", outTradeNo) + "\n" + field("token", token) + "\n"
                + timestamp(timestamp) + "\n" + field("nonce", nonce);
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // ───────────────────────────── HMAC ─────────────────────────────

    /** Lowercase hex HMAC of {@code data} with the UTF-8 bytes of {@code key}. */
    public static String sign(SignType signType, String key, byte[] data) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("key must be a non-empty string");
        }
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        byte[] mac;
        switch (signType) {
            case HMAC_SHA256:
                try {
                    Mac m = Mac.getInstance("HmacSHA256");
                    m.init(new SecretKeySpec(k, "HmacSHA256"));
                    mac = m.doFinal(data);
                } catch (GeneralSecurityException e) {
                    throw new IllegalStateException("HmacSHA256 is not available", e);
                }
                break;
            case HMAC_SM3:
                // Bouncy Castle's lightweight API: no JCA provider needs registering in the merchant's JVM.
                HMac h = new HMac(new SM3Digest());
                h.init(new KeyParameter(k));
                h.update(data, 0, data.length);
                mac = new byte[h.getMacSize()];
                h.doFinal(mac, 0);
                break;
            default:
                throw new IllegalArgumentException("unsupported sign type: " + signType);
        }
        return hex(mac);
    }

    /**
     * Constant-time comparison of two hex signatures (compares the decoded bytes, so hex case does not matter).
     * False when either is not an even-length string of hex digits or the lengths differ.
     */
    public static boolean signaturesEqual(String a, String b) {
        boolean okA = a != null && HEX.matcher(a).matches();
        boolean okB = b != null && HEX.matcher(b).matches();
        byte[] bytesA = okA ? unhex(a) : new byte[0];
        byte[] bytesB = okB ? unhex(b) : new byte[0];
        return MessageDigest.isEqual(bytesA, bytesB) && okA && okB;
    }

    /** A random nonce of 32 characters of [A-Za-z0-9]. */
    public static String generateNonce() {
        char[] out = new char[32];
        for (int i = 0; i < out.length; i++) {
            out[i] = NONCE_ALPHABET[RANDOM.nextInt(NONCE_ALPHABET.length)];
        }
        return new String(out);
    }

    // ───────────────────────────── signing messages ─────────────────────────────

    /** The five headers of a request (merchant → cashier desk), in their canonical casing. */
    public static Map<String, String> signRequestHeaders(String method, String pathWithQuery, String appId, String appKey, SignType signType,
            byte[] body, long nowMillis) {
        return signRequestHeaders(method, pathWithQuery, appId, appKey, signType, body, nowMillis, generateNonce());
    }

    /** As {@link #signRequestHeaders(String, String, String, String, SignType, byte[], long)} with a given nonce (never reuse one). */
    public static Map<String, String> signRequestHeaders(String method, String pathWithQuery, String appId, String appKey, SignType signType,
            byte[] body, long nowMillis, String nonce) {
        String ts = Long.toString(nowMillis);
        byte[] data = requestStringToSign(method, pathWithQuery, appId, ts, checkedNonce(nonce), body);
        return headers(appId, ts, nonce, signType, sign(signType, appKey, data));
    }

    /** The five headers of an answer to a signed message ({@code pathWithQuery} = the request's). */
    public static Map<String, String> signResponseHeaders(String pathWithQuery, String appId, String appKey, SignType signType, byte[] body,
            long nowMillis) {
        String ts = Long.toString(nowMillis);
        String nonce = generateNonce();
        byte[] data = responseStringToSign(pathWithQuery, appId, ts, nonce, body);
        return headers(appId, ts, nonce, signType, sign(signType, appKey, data));
    }

    // ───────────────────────────── verifying messages ─────────────────────────────

    /**
     * Verifies a request or notification: headers present, sign type, nonce and timestamp formats, the ±300 s
     * window, the app id (when {@code expectedAppId} is not null), then the HMAC with every key (no early exit).
     * Does not check nonce replay: claim the nonce afterwards (the SDK's notification verifier does).
     */
    public static VerifiedMessage verifyRequest(String method, String pathWithQuery, HeaderLookup headers, byte[] body, List<String> keys,
            long nowMillis, String expectedAppId) {
        if (method == null || method.isEmpty()) {
            throw new IllegalArgumentException("method is required to verify a request");
        }
        return verify(method, pathWithQuery, headers, body, keys, nowMillis, expectedAppId);
    }

    /** As {@link #verifyRequest} for a RESPONSE signature ({@code pathWithQuery} of the request it answers). */
    public static VerifiedMessage verifyResponse(String pathWithQuery, HeaderLookup headers, byte[] body, List<String> keys, long nowMillis,
            String expectedAppId) {
        return verify(null, pathWithQuery, headers, body, keys, nowMillis, expectedAppId);
    }

    /**
     * Checks a unified-order signature block against the order's token with every key (constant time). Does not
     * check its age: the block may be verified long after the order was made.
     */
    public static boolean verifyOrder(String appId, String outTradeNo, String token, String timestamp, String nonce, String signature,
            List<String> keys, SignType signType) {
        if (appId == null || outTradeNo == null || token == null || timestamp == null || nonce == null || signature == null) {
            return false;
        }
        if (!TIMESTAMP.matcher(timestamp).matches()) {
            return false;
        }
        byte[] data;
        try {
            data = orderStringToSign(appId, outTradeNo, token, timestamp, nonce);
        } catch (IllegalArgumentException e) {
            return false;
        }
        return matchAnyKey(signType, keys, data, signature) >= 0;
    }

    private static VerifiedMessage verify(String method, String pathWithQuery, HeaderLookup headers, byte[] body, List<String> keys,
            long nowMillis, String expectedAppId) {
        String appId = header(headers, HEADER_APP_ID);
        String timestamp = header(headers, HEADER_TIMESTAMP);
        String nonce = header(headers, HEADER_NONCE);
        String signTypeName = header(headers, HEADER_SIGN_TYPE);
        String signature = header(headers, HEADER_SIGNATURE);
        if (appId == null || timestamp == null || nonce == null || signTypeName == null || signature == null) {
            throw new SignatureVerificationException(Reason.MISSING_HEADER);
        }
        SignType signType = SignType.fromHeaderValue(signTypeName);
        if (signType == null) {
            throw new SignatureVerificationException(Reason.BAD_SIGN_TYPE);
        }
        if (!NONCE.matcher(nonce).matches()) {
            throw new SignatureVerificationException(Reason.BAD_NONCE);
        }
        if (!TIMESTAMP.matcher(timestamp).matches()) {
            throw new SignatureVerificationException(Reason.BAD_TIMESTAMP);
        }
        long ts = Long.parseLong(timestamp);
        if (ts > MAX_SAFE_INTEGER) {
            throw new SignatureVerificationException(Reason.BAD_TIMESTAMP);
        }
        if (Math.abs(nowMillis - ts) > TIMESTAMP_TOLERANCE_MS) {
            throw new SignatureVerificationException(Reason.STALE_TIMESTAMP);
        }
        if (expectedAppId != null && !expectedAppId.equals(appId)) {
            throw new SignatureVerificationException(Reason.APP_MISMATCH);
        }
        byte[] data;
        try {
            data = method != null
                    ? requestStringToSign(method, pathWithQuery, appId, timestamp, nonce, body)
                    : responseStringToSign(pathWithQuery, appId, timestamp, nonce, body);
        } catch (IllegalArgumentException e) {
            // e.g. an app id with a line break cannot have been signed
            throw new SignatureVerificationException(Reason.BAD_SIGNATURE);
        }
        int keyIndex = matchAnyKey(signType, keys, data, signature);
        if (keyIndex < 0) {
            throw new SignatureVerificationException(Reason.BAD_SIGNATURE);
        }
        return new VerifiedMessage(appId, ts, nonce, signType, keyIndex);
    }

    /** Index of the first key whose HMAC matches, or -1; every key is tried, so timing does not tell which matched. */
    private static int matchAnyKey(SignType signType, List<String> keys, byte[] data, String signature) {
        int matched = -1;
        List<String> list = keys == null ? Collections.<String>emptyList() : keys;
        for (int i = 0; i < list.size(); i++) {
            String key = list.get(i);
            if (key == null || key.isEmpty()) {
                continue; // an unset key never verifies anything
            }
            boolean ok = signaturesEqual(sign(signType, key, data), signature);
            if (ok && matched < 0) {
                matched = i;
            }
        }
        return matched;
    }

    // ───────────────────────────── helpers ─────────────────────────────

    private static String header(HeaderLookup headers, String name) {
        String v = headers.get(name);
        if (v == null) {
            return null;
        }
        v = v.trim();
        return v.isEmpty() ? null : v;
    }

    private static Map<String, String> headers(String appId, String timestamp, String nonce, SignType signType, String signature) {
        Map<String, String> h = new LinkedHashMap<String, String>();
        h.put(HEADER_APP_ID, appId);
        h.put(HEADER_TIMESTAMP, timestamp);
        h.put(HEADER_NONCE, nonce);
        h.put(HEADER_SIGN_TYPE, signType.headerValue());
        h.put(HEADER_SIGNATURE, signature);
        return h;
    }

    private static String checkedNonce(String nonce) {
        if (nonce == null || !NONCE.matcher(nonce).matches()) {
            throw new IllegalArgumentException("nonce must be 16–64 characters of [A-Za-z0-9]");
        }
        return nonce;
    }

    private static String field(String name, String value) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(name + " must be a non-empty string");
        }
        if (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
            throw new IllegalArgumentException(name + " must not contain CR or LF");
        }
        return value;
    }

    private static String path(String pathWithQuery) {
        field("pathWithQuery", pathWithQuery);
        if (!pathWithQuery.startsWith("/")) {
            throw new IllegalArgumentException("pathWithQuery must start with \"/\"");
        }
        return pathWithQuery;
    }

    private static String timestamp(String timestamp) {
        if (timestamp == null || !TIMESTAMP.matcher(timestamp).matches()) {
            throw new IllegalArgumentException("timestamp must be decimal digits (epoch ms)");
        }
        return timestamp;
    }

    private static byte[] withBody(String[] fields, byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StringBuilder head = new StringBuilder();
        for (String f : fields) {
            head.append(f).append('\n');
        }
        byte[] h = head.toString().getBytes(StandardCharsets.UTF_8);
        out.write(h, 0, h.length);
        if (body != null) {
            out.write(body, 0, body.length);
        }
        return out.toByteArray();
    }

    static String hex(byte[] bytes) {
        char[] out = new char[bytes.length * 2];
        for (int i = 0; i < bytes.length; i++) {
            out[2 * i] = HEX_DIGITS[(bytes[i] >> 4) & 0xf];
            out[2 * i + 1] = HEX_DIGITS[bytes[i] & 0xf];
        }
        return new String(out);
    }

    private static byte[] unhex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) ((Character.digit(s.charAt(2 * i), 16) << 4) | Character.digit(s.charAt(2 * i + 1), 16));
        }
        return out;
    }
}
