package cn.huolala.lala.pay.cashier.desk.sdk.model;

/** 转账 request, the body of {@code POST /transfers} (the app's transfers must be enabled by an administrator). */
public class SdkTransferRequest {
    /** Unique per app, 1–64 of [A-Za-z0-9_-|*.]: the same request again returns the same transfer. */
    private String outBizNo;
    /** {@code ali-pay} or {@code wx-pay}. */
    private String channelType;
    /** Fen. */
    private Long amount;
    /** {@code ALIPAY_LOGON_ID}, {@code ALIPAY_USER_ID} or {@code WX_OPENID}. */
    private String payeeType;
    private String payeeAccount;
    /** The payee's real name: Alipay checks it against the account. */
    private String payeeName;
    private String remark;
    private String notifyUrl;

    public String getOutBizNo() {
        return outBizNo;
    }

    public void setOutBizNo(String outBizNo) {
        this.outBizNo = outBizNo;
    }

    public String getChannelType() {
        return channelType;
    }

    public void setChannelType(String channelType) {
        this.channelType = channelType;
    }

    public Long getAmount() {
        return amount;
    }

    public void setAmount(Long amount) {
        this.amount = amount;
    }

    public String getPayeeType() {
        return payeeType;
    }

    public void setPayeeType(String payeeType) {
        this.payeeType = payeeType;
    }

    public String getPayeeAccount() {
        return payeeAccount;
    }

    public void setPayeeAccount(String payeeAccount) {
        this.payeeAccount = payeeAccount;
    }

    public String getPayeeName() {
        return payeeName;
    }

    public void setPayeeName(String payeeName) {
        this.payeeName = payeeName;
    }

    public String getRemark() {
        return remark;
    }

    public void setRemark(String remark) {
        this.remark = remark;
    }

    public String getNotifyUrl() {
        return notifyUrl;
    }

    public void setNotifyUrl(String notifyUrl) {
        this.notifyUrl = notifyUrl;
    }
}
