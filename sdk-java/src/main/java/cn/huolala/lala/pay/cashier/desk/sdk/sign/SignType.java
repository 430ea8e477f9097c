package cn.huolala.lala.pay.cashier.desk.sdk.sign;

/** The algorithms of Signature v1: the value of the {@code X-Cashier-Sign-Type} header. */
public enum SignType {
    /** HMAC with SHA-256 (the default). */
    HMAC_SHA256("HMAC-SHA256"),
    /** HMAC with SM3 (国密), computed with Bouncy Castle. */
    HMAC_SM3("HMAC-SM3");

    private final String headerValue;

    SignType(String headerValue) {
        this.headerValue = headerValue;
    }

    /** {@code HMAC-SHA256} or {@code HMAC-SM3}. */
    public String headerValue() {
        return headerValue;
    }

    /** The sign type named by a header value, or null when it names none (exact match, as the server compares). */
    public static SignType fromHeaderValue(String value) {
        for (SignType t : values()) {
            if (t.headerValue.equals(value)) {
                return t;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return headerValue;
    }
}
