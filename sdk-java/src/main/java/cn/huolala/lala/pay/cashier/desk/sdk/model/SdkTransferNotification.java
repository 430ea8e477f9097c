package cn.huolala.lala.pay.cashier.desk.sdk.model;

/** TRANSFER_RESULT: a transfer's result ({@code resultCode} SUCCESS, FAIL or CANCELLED). */
public class SdkTransferNotification extends SdkNotification {
    private long transferId;
    private String outBizNo;
    private String channelType;
    /** Fen. */
    private long amount;
    private String payeeType;
    private String payeeAccount;
    private String transferTime;

    public long getTransferId() {
        return transferId;
    }

    public String getOutBizNo() {
        return outBizNo;
    }

    public String getChannelType() {
        return channelType;
    }

    public long getAmount() {
        return amount;
    }

    public String getPayeeType() {
        return payeeType;
    }

    public String getPayeeAccount() {
        return payeeAccount;
    }

    public String getTransferTime() {
        return transferTime;
    }
}
