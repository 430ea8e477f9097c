package cn.huolala.lala.pay.cashier.desk.sdk.model;

/** The unified order's {@code signature} block: the ORDER string signed with the app's key. */
public class SdkOrderSignature {
    private String appId;
    private String nonce;
    /** Epoch milliseconds. */
    private long timestamp;
    private String outTradeNo;
    private String signature;

    public String getAppId() {
        return appId;
    }

    public String getNonce() {
        return nonce;
    }

    public long getTimestamp() {
        return timestamp;
    }

    public String getOutTradeNo() {
        return outTradeNo;
    }

    public String getSignature() {
        return signature;
    }
}
