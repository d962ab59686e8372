/**
 * Entry `live-theme`: only the live pages' shared styles (state colours), for
 * server-rendered pages without an island of their own (the run form).
 */
import "./execution/live.css";
