package dev.jresnet.tensor;

/** Element types that weight files hold; computation is float32 on the CPU. */
public enum DataType {
    F32(4, "F32"),
    F16(2, "F16"),
    BF16(2, "BF16"),
    F64(8, "F64"),
    I64(8, "I64"),
    I32(4, "I32"),
    U8(1, "U8");

    private final int bytes;
    private final String safetensorsName;

    DataType(int bytes, String safetensorsName) {
        this.bytes = bytes;
        this.safetensorsName = safetensorsName;
    }

    public int bytes() {
        return bytes;
    }

    /** The dtype string of the safetensors header ("F32", "BF16", ...). */
    public String safetensorsName() {
        return safetensorsName;
    }

    public boolean isFloatingPoint() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }

    public static DataType fromSafetensors(String name) {
        for (DataType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unsupported safetensors dtype \"" + name + "\"");
    }
}
