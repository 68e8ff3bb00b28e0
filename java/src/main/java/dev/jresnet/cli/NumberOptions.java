package dev.jresnet.cli;

import picocli.CommandLine;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The one place where every command's numeric option values are parsed. Floating-point options must be finite:
 * inside, NaN often means "unset" (a default is taken instead) and infinity overflows, so {@code --lr NaN} or
 * {@code --seconds Infinity} is refused here, by picocli, with one line naming the option ("Invalid value for
 * option '--lr': NaN is not a finite number"). Integer options are parsed by picocli, which refuses a value that
 * does not fit the type; a command that multiplies one (--feature-cache-mb to bytes) bounds it before.
 */
final class NumberOptions {
    private NumberOptions() {}

    /** Registers the finite float and double converters on {@code cl} and every subcommand it has now. */
    static void register(CommandLine cl) {
        ITypeConverter<Float> f = NumberOptions::finiteFloat;
        ITypeConverter<Double> d = NumberOptions::finiteDouble;
        cl.registerConverter(Float.class, f);
        cl.registerConverter(Float.TYPE, f);
        cl.registerConverter(Double.class, d);
        cl.registerConverter(Double.TYPE, d);
    }

    static Float finiteFloat(String value) {
        float v;
        try {
            v = Float.parseFloat(value.strip());
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a number");
        }
        if (!Float.isFinite(v)) {
            throw new TypeConversionException(value + " is not a finite number"
                    + (isOverflow(value) ? " (beyond float's range of +-3.4e38)" : ""));
        }
        return v;
    }

    static Double finiteDouble(String value) {
        double v;
        try {
            v = Double.parseDouble(value.strip());
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a number");
        }
        if (!Double.isFinite(v)) {
            throw new TypeConversionException(value + " is not a finite number"
                    + (isOverflow(value) ? " (beyond double's range of +-1.8e308)" : ""));
        }
        return v;
    }

    private static boolean isOverflow(String value) {
        String s = value.strip().toLowerCase(java.util.Locale.ROOT);
        return !s.contains("nan") && !s.contains("inf");
    }
}
