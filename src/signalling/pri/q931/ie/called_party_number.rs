//! TODO (codec helper): this element's decode/encode.
