package cn.huolala.lala.pay.cashier.desk.sdk.sign;

/** What a verified Signature v1 message said about itself. */
public final class VerifiedMessage {
    private final String appId;
    private final long timestamp;
    private final String nonce;
    private final SignType signType;
    private final int keyIndex;

    VerifiedMessage(String appId, long timestamp, String nonce, SignType signType, int keyIndex) {
        this.appId = appId;
        this.timestamp = timestamp;
        this.nonce = nonce;
        this.signType = signType;
        this.keyIndex = keyIndex;
    }

    public String getAppId() {
        return appId;
    }

    /** Epoch milliseconds. */
    public long getTimestamp() {
        return timestamp;
    }

    public String getNonce() {
        return nonce;
    }

    public SignType getSignType() {
        return signType;
    }

    /** Index, in the keys given to the verifier, of the key that verified (1 and up: a rotation key). */
    public int getKeyIndex() {
        return keyIndex;
    }
}
