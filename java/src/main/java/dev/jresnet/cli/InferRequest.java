package dev.jresnet.cli;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An Open Inference Protocol v2 inference request, {@code {"id"?, "parameters"?, "inputs": [{"name", "shape",
 * "datatype", "parameters"?, "data"}], "outputs"?: [{"name", "parameters"?}]}}, read with Jackson's streaming parser
 * so that a tensor of millions of numbers becomes one float[] (a tree would take ten times the body). {@code data}
 * may be flat or nested, in row-major order, as the protocol allows. Anything else is an
 * {@link HttpCalls.HttpError} 400 naming the field.
 */
record InferRequest(String id, String inputName, String datatype, int[] shape, float[] data, List<String> outputs) {
    /** Nesting of {@code data} allowed: a [N, 3, S, S] tensor nests 4 deep. */
    private static final int MAX_DATA_DEPTH = 8;

    static InferRequest parse(byte[] body) throws HttpCalls.HttpError {
        try (JsonParser p = Terminal.jsonMapper().getFactory().createParser(body)) {
            return read(p);
        } catch (JsonParseException e) {
            // Jackson's message carries a "(start marker at [Source: ...])" aside: the line and column say it
            String why = e.getOriginalMessage().replaceAll("\\s*\\(start marker at \\[Source.*", "")
                    .replace('\n', ' ');
            throw bad("the body is not valid JSON: " + why + " (line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr() + ")");
        } catch (IOException e) {
            throw bad("the body could not be read as JSON: " + e.getMessage());
        }
    }

    private static InferRequest read(JsonParser p) throws IOException, HttpCalls.HttpError {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw bad("the body must be a JSON object {\"inputs\": [...]}");
        }
        String id = null;
        List<Input> inputs = null;
        List<String> outputs = new ArrayList<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.getCurrentName();
            JsonToken t = p.nextToken();
            switch (field) {
                case "id" -> {
                    if (t != JsonToken.VALUE_STRING) {
                        throw bad("\"id\" must be a string");
                    }
                    id = p.getText();
                }
                case "inputs" -> inputs = inputs(p, t);
                case "outputs" -> outputs = outputs(p, t);
                default -> p.skipChildren();   // "parameters" and extensions we do not implement
            }
        }
        if (p.nextToken() != null) {
            throw bad("unexpected content after the JSON object");
        }
        if (inputs == null || inputs.isEmpty()) {
            throw bad("\"inputs\" is missing or empty: send {\"inputs\": [{\"name\": \"input\", \"shape\": [1, 3, S, S],"
                    + " \"datatype\": \"FP32\", \"data\": [...]}]}");
        }
        if (inputs.size() > 1) {
            throw bad("this model has one input, got " + inputs.size());
        }
        Input in = inputs.get(0);
        return new InferRequest(id, in.name, in.datatype, in.shape, in.data, List.copyOf(outputs));
    }

    private record Input(String name, String datatype, int[] shape, float[] data) {}

    private static List<Input> inputs(JsonParser p, JsonToken t) throws IOException, HttpCalls.HttpError {
        if (t != JsonToken.START_ARRAY) {
            throw bad("\"inputs\" must be an array of tensors");
        }
        List<Input> list = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.START_OBJECT) {
                throw bad("each of \"inputs\" must be an object {\"name\", \"shape\", \"datatype\", \"data\"}");
            }
            String name = null, datatype = null;
            int[] shape = null;
            float[] data = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.getCurrentName();
                JsonToken v = p.nextToken();
                switch (field) {
                    case "name" -> name = string(p, v, "inputs[].name");
                    case "datatype" -> datatype = string(p, v, "inputs[].datatype");
                    case "shape" -> shape = shape(p, v);
                    case "data" -> data = data(p, v);
                    default -> p.skipChildren();
                }
            }
            for (String[] need : new String[][] {{"name", name}, {"datatype", datatype}}) {
                if (need[1] == null) {
                    throw bad("inputs[" + list.size() + "] has no \"" + need[0] + "\"");
                }
            }
            if (shape == null || data == null) {
                throw bad("inputs[" + list.size() + "] has no \"" + (shape == null ? "shape" : "data") + "\"");
            }
            list.add(new Input(name, datatype, shape, data));
        }
        return list;
    }

    private static List<String> outputs(JsonParser p, JsonToken t) throws IOException, HttpCalls.HttpError {
        if (t != JsonToken.START_ARRAY) {
            throw bad("\"outputs\" must be an array of {\"name\": ...}");
        }
        List<String> names = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.START_OBJECT) {
                throw bad("each of \"outputs\" must be an object {\"name\": ...}");
            }
            String name = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.getCurrentName();
                JsonToken v = p.nextToken();
                if (field.equals("name")) {
                    name = string(p, v, "outputs[].name");
                } else {
                    p.skipChildren();
                }
            }
            if (name == null) {
                throw bad("outputs[" + names.size() + "] has no \"name\"");
            }
            names.add(name);
        }
        return names;
    }

    private static String string(JsonParser p, JsonToken t, String what) throws IOException, HttpCalls.HttpError {
        if (t != JsonToken.VALUE_STRING) {
            throw bad("\"" + what + "\" must be a string");
        }
        return p.getText();
    }

    private static int[] shape(JsonParser p, JsonToken t) throws IOException, HttpCalls.HttpError {
        if (t != JsonToken.START_ARRAY) {
            throw bad("\"shape\" must be an array of integers, e.g. [1, 3, 224, 224]");
        }
        List<Integer> dims = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.VALUE_NUMBER_INT || dims.size() > 16) {
                throw bad("\"shape\" must be a short array of integers, e.g. [1, 3, 224, 224]");
            }
            long d = p.getLongValue();
            if (d < 0 || d > Integer.MAX_VALUE) {
                throw bad("\"shape\" holds " + d + ": dimensions must be in 0.." + Integer.MAX_VALUE);
            }
            dims.add((int) d);
        }
        return dims.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The numbers of {@code data}, flat or nested, in order. */
    private static float[] data(JsonParser p, JsonToken t) throws IOException, HttpCalls.HttpError {
        if (t != JsonToken.START_ARRAY) {
            throw bad("\"data\" must be an array of numbers (flat or nested, row-major)");
        }
        float[] values = new float[1024];
        int n = 0, depth = 1;
        while (depth > 0) {
            JsonToken v = p.nextToken();
            if (v == JsonToken.START_ARRAY) {
                if (++depth > MAX_DATA_DEPTH) {
                    throw bad("\"data\" nests deeper than " + MAX_DATA_DEPTH + " arrays");
                }
            } else if (v == JsonToken.END_ARRAY) {
                depth--;
            } else if (v == JsonToken.VALUE_NUMBER_INT || v == JsonToken.VALUE_NUMBER_FLOAT) {
                if (n == values.length) {
                    values = Arrays.copyOf(values, values.length * 2);
                }
                values[n++] = p.getFloatValue();
            } else {
                throw bad("\"data\" must hold numbers (datatype FP32), found " + (v == null ? "the end of the body"
                        : p.getText()) + " at element " + n);
            }
        }
        return Arrays.copyOf(values, n);
    }

    private static HttpCalls.HttpError bad(String message) {
        return new HttpCalls.HttpError(400, message);
    }
}
