# Sourced by the pipeline scripts: use the plugin and models of this build tree.
here="$(cd "$(dirname "$0")/.." && pwd)"
export GST_PLUGIN_PATH="$here/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
MODELS="${VAMPNET_MODELS:-$here/build/models}"
