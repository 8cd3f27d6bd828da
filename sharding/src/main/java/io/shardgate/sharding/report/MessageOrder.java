package io.shardgate.sharding.report;

import java.util.Comparator;

/**
 * The order of the messages in a status: by text, with runs of digits compared as numbers, so that
 * {@code routes[2]} comes before {@code routes[10]} and messages about one field stay together. A status is a set of
 * messages, not a log: the same problems give the same status whatever order the translator found them in, which is
 * what lets the translation merge cached results of unchanged resources with fresh ones. Pure; thread-safe.
 */
public final class MessageOrder implements Comparator<String> {

  public static final MessageOrder INSTANCE = new MessageOrder();

  private MessageOrder() {}

  @Override
  public int compare(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      char x = a.charAt(i);
      char y = b.charAt(j);
      if (isDigit(x) && isDigit(y)) {
        int ei = digitsEnd(a, i);
        int ej = digitsEnd(b, j);
        int c = compareNumbers(a, i, ei, b, j, ej);
        if (c != 0) {
          return c;
        }
        i = ei;
        j = ej;
        continue;
      }
      if (x != y) {
        return Character.compare(x, y);
      }
      i++;
      j++;
    }
    int c = Integer.compare(a.length() - i, b.length() - j);
    // Equal up to numeric value (e.g. "07" and "7"): fall back to plain text so the order stays total.
    return c != 0 ? c : a.compareTo(b);
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static int digitsEnd(String s, int from) {
    int k = from;
    while (k < s.length() && isDigit(s.charAt(k))) {
      k++;
    }
    return k;
  }

  /** Compares two runs of digits by value, without parsing (runs may be longer than a long). */
  private static int compareNumbers(String a, int ai, int ae, String b, int bi, int be) {
    while (ai < ae - 1 && a.charAt(ai) == '0') {
      ai++;
    }
    while (bi < be - 1 && b.charAt(bi) == '0') {
      bi++;
    }
    int byLength = Integer.compare(ae - ai, be - bi);
    if (byLength != 0) {
      return byLength;
    }
    for (; ai < ae; ai++, bi++) {
      int c = Character.compare(a.charAt(ai), b.charAt(bi));
      if (c != 0) {
        return c;
      }
    }
    return 0;
  }
}
