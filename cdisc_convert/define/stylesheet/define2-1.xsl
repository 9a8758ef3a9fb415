<?xml version="1.0" encoding="UTF-8"?>
<!--
  cdisc-convert's rendering of a Define-XML 2.1 document as one HTML page (XSLT 1.0, so a
  browser applies it when define.xml is opened, and lxml applies the same file to write
  define.html). Written for this project; it follows the sections a reviewer expects from
  Define-XML 2.1 (section 5 of the specification): standards, datasets, variables, value
  level metadata with where clauses, codelists, external dictionaries, methods, comments and
  documents, with links to the data files (def:leaf) and to the annotated CRF pages.
  No script: everything is plain HTML and CSS.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:odm="http://www.cdisc.org/ns/odm/v1.3"
    xmlns:def="http://www.cdisc.org/ns/def/v2.1"
    xmlns:xlink="http://www.w3.org/1999/xlink"
    xmlns:xml="http://www.w3.org/XML/1998/namespace"
    exclude-result-prefixes="odm def xlink xml">

  <xsl:output method="html" encoding="UTF-8" indent="yes"
              doctype-system="about:legacy-compat"/>

  <xsl:key name="item" match="odm:ItemDef" use="@OID"/>
  <xsl:key name="codelist" match="odm:CodeList" use="@OID"/>
  <xsl:key name="method" match="odm:MethodDef" use="@OID"/>
  <xsl:key name="comment" match="def:CommentDef" use="@OID"/>
  <xsl:key name="valuelist" match="def:ValueListDef" use="@OID"/>
  <xsl:key name="where" match="def:WhereClauseDef" use="@OID"/>
  <xsl:key name="leaf" match="def:leaf" use="@ID"/>
  <xsl:key name="standard" match="def:Standard" use="@OID"/>

  <xsl:variable name="mdv" select="/odm:ODM/odm:Study/odm:MetaDataVersion"/>

  <!-- ===================================================================== page -->
  <xsl:template match="/">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <link rel="icon" href="data:,"/>
        <title>
          <xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyName"/>
          <xsl:text> - </xsl:text>
          <xsl:value-of select="$mdv/@Name"/>
        </title>
        <style>
          body { font-family: Arial, Helvetica, sans-serif; font-size: 13px; margin: 0; color: #111; }
          nav { position: fixed; top: 0; left: 0; bottom: 0; width: 230px; overflow-y: auto;
                background: #eef2f6; border-right: 1px solid #c9d3dd; padding: 10px 8px; }
          nav ul { list-style: none; padding-left: 10px; margin: 2px 0; }
          nav a { color: #123f6d; text-decoration: none; }
          nav a:hover { text-decoration: underline; }
          main { margin-left: 250px; padding: 10px 20px 40px 10px; }
          h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 2px solid #123f6d; }
          h3 { font-size: 15px; margin-top: 22px; }
          table { border-collapse: collapse; margin: 6px 0 14px 0; width: 100%; }
          th, td { border: 1px solid #b9c4cf; padding: 3px 6px; vertical-align: top; text-align: left; }
          th { background: #dbe4ee; }
          tr:nth-child(even) td { background: #f7f9fb; }
          .oid { color: #666; font-size: 11px; }
          .label { font-weight: bold; }
          .small { font-size: 11px; color: #444; }
        </style>
      </head>
      <body>
        <nav aria-label="Contents">
          <div class="label"><xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyName"/></div>
          <ul>
            <li><a href="#standards">Standards</a></li>
            <li><a href="#datasets">Datasets</a>
              <ul>
                <xsl:for-each select="$mdv/odm:ItemGroupDef">
                  <li><a href="#{@OID}"><xsl:value-of select="@Name"/></a></li>
                </xsl:for-each>
              </ul>
            </li>
            <xsl:if test="$mdv/def:ValueListDef"><li><a href="#valuelevel">Value level metadata</a></li></xsl:if>
            <xsl:if test="$mdv/odm:CodeList[not(odm:ExternalCodeList)]"><li><a href="#codelists">Codelists</a></li></xsl:if>
            <xsl:if test="$mdv/odm:CodeList[odm:ExternalCodeList]"><li><a href="#dictionaries">External dictionaries</a></li></xsl:if>
            <xsl:if test="$mdv/odm:MethodDef"><li><a href="#methods">Methods</a></li></xsl:if>
            <xsl:if test="$mdv/def:CommentDef"><li><a href="#comments">Comments</a></li></xsl:if>
            <xsl:if test="$mdv/def:leaf"><li><a href="#documents">Documents</a></li></xsl:if>
          </ul>
        </nav>
        <main>
          <h1><xsl:value-of select="$mdv/@Name"/></h1>
          <p>
            <xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyDescription"/>
          </p>
          <p class="small">
            Define-XML <xsl:value-of select="$mdv/@def:DefineVersion"/>;
            protocol <xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:ProtocolName"/>;
            created <xsl:value-of select="/odm:ODM/@CreationDateTime"/> by
            <xsl:value-of select="/odm:ODM/@SourceSystem"/>
            <xsl:text> </xsl:text><xsl:value-of select="/odm:ODM/@SourceSystemVersion"/>.
          </p>
          <xsl:call-template name="annotated-crf"/>
          <xsl:call-template name="standards"/>
          <xsl:call-template name="datasets"/>
          <xsl:apply-templates select="$mdv/odm:ItemGroupDef" mode="variables"/>
          <xsl:call-template name="valuelevel"/>
          <xsl:call-template name="codelists"/>
          <xsl:call-template name="dictionaries"/>
          <xsl:call-template name="methods"/>
          <xsl:call-template name="comments"/>
          <xsl:call-template name="documents"/>
        </main>
      </body>
    </html>
  </xsl:template>

  <!-- ============================================================ small helpers -->
  <xsl:template name="text">
    <xsl:param name="node"/>
    <xsl:choose>
      <xsl:when test="$node/odm:TranslatedText[@xml:lang='en']">
        <xsl:value-of select="$node/odm:TranslatedText[@xml:lang='en']"/>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$node/odm:TranslatedText[1]"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- a link to a document (def:leaf), with page references when given -->
  <xsl:template match="def:DocumentRef">
    <xsl:variable name="leaf" select="key('leaf', @leafID)"/>
    <xsl:choose>
      <xsl:when test="def:PDFPageRef[@Type='PhysicalRef']">
        <xsl:value-of select="$leaf/def:title"/>
        <xsl:text> page </xsl:text>
        <xsl:call-template name="pages">
          <xsl:with-param name="href" select="$leaf/@xlink:href"/>
          <xsl:with-param name="list" select="normalize-space(def:PDFPageRef/@PageRefs)"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:when test="def:PDFPageRef[@Type='NamedDestination']">
        <a href="{$leaf/@xlink:href}#{def:PDFPageRef/@PageRefs}"><xsl:value-of select="$leaf/def:title"/></a>
      </xsl:when>
      <xsl:otherwise>
        <a href="{$leaf/@xlink:href}"><xsl:value-of select="$leaf/def:title"/></a>
      </xsl:otherwise>
    </xsl:choose>
    <xsl:if test="position() != last()"><br/></xsl:if>
  </xsl:template>

  <!-- "12 14" -> links to page 12 and page 14 of the PDF -->
  <xsl:template name="pages">
    <xsl:param name="href"/>
    <xsl:param name="list"/>
    <xsl:variable name="first">
      <xsl:choose>
        <xsl:when test="contains($list, ' ')"><xsl:value-of select="substring-before($list, ' ')"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$list"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <a href="{$href}#page={$first}"><xsl:value-of select="$first"/></a>
    <xsl:if test="contains($list, ' ')">
      <xsl:text>, </xsl:text>
      <xsl:call-template name="pages">
        <xsl:with-param name="href" select="$href"/>
        <xsl:with-param name="list" select="substring-after($list, ' ')"/>
      </xsl:call-template>
    </xsl:if>
  </xsl:template>

  <xsl:template name="comment-link">
    <xsl:param name="oid"/>
    <xsl:if test="$oid">
      <xsl:variable name="c" select="key('comment', $oid)"/>
      <xsl:call-template name="text"><xsl:with-param name="node" select="$c/odm:Description"/></xsl:call-template>
      <xsl:if test="$c/def:DocumentRef"><br/><xsl:apply-templates select="$c/def:DocumentRef"/></xsl:if>
    </xsl:if>
  </xsl:template>

  <!-- ================================================================ sections -->
  <xsl:template name="annotated-crf">
    <xsl:if test="$mdv/def:AnnotatedCRF or $mdv/def:SupplementalDoc">
      <p>
        <xsl:for-each select="$mdv/def:AnnotatedCRF/def:DocumentRef | $mdv/def:SupplementalDoc/def:DocumentRef">
          <a href="{key('leaf', @leafID)/@xlink:href}"><xsl:value-of select="key('leaf', @leafID)/def:title"/></a>
          <xsl:if test="position() != last()"><xsl:text> | </xsl:text></xsl:if>
        </xsl:for-each>
      </p>
    </xsl:if>
  </xsl:template>

  <xsl:template name="standards">
    <h2 id="standards">Standards</h2>
    <table>
      <tr><th>Name</th><th>Type</th><th>Publishing set</th><th>Version</th><th>Status</th><th>Comment</th></tr>
      <xsl:for-each select="$mdv/def:Standards/def:Standard">
        <tr id="{@OID}">
          <td><xsl:value-of select="@Name"/></td>
          <td><xsl:value-of select="@Type"/></td>
          <td><xsl:value-of select="@PublishingSet"/></td>
          <td><xsl:value-of select="@Version"/></td>
          <td><xsl:value-of select="@Status"/></td>
          <td><xsl:call-template name="comment-link"><xsl:with-param name="oid" select="@def:CommentOID"/></xsl:call-template></td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template name="datasets">
    <h2 id="datasets">Datasets</h2>
    <table>
      <tr><th>Dataset</th><th>Description</th><th>Class</th><th>Structure</th><th>Purpose</th>
          <th>Keys</th><th>Standard</th><th>Location</th><th>Comment</th></tr>
      <xsl:for-each select="$mdv/odm:ItemGroupDef">
        <xsl:variable name="ig" select="."/>
        <tr>
          <td><a href="#{@OID}"><xsl:value-of select="@Name"/></a></td>
          <td><xsl:call-template name="text"><xsl:with-param name="node" select="odm:Description"/></xsl:call-template></td>
          <td>
            <xsl:value-of select="def:Class/@Name"/>
            <xsl:if test="def:Class/def:SubClass"> (<xsl:value-of select="def:Class/def:SubClass/@Name"/>)</xsl:if>
          </td>
          <td><xsl:value-of select="@def:Structure"/></td>
          <td><xsl:value-of select="@Purpose"/></td>
          <td>
            <xsl:for-each select="odm:ItemRef[@KeySequence]">
              <xsl:sort select="@KeySequence" data-type="number"/>
              <xsl:value-of select="key('item', @ItemOID)/@Name"/>
              <xsl:if test="position() != last()">, </xsl:if>
            </xsl:for-each>
          </td>
          <td>
            <xsl:variable name="std" select="key('standard', @def:StandardOID)"/>
            <xsl:value-of select="$std/@Name"/><xsl:text> </xsl:text><xsl:value-of select="$std/@Version"/>
          </td>
          <td>
            <xsl:for-each select="def:leaf">
              <a href="{@xlink:href}" class="dataset-file"><xsl:value-of select="def:title"/></a>
            </xsl:for-each>
          </td>
          <td><xsl:call-template name="comment-link"><xsl:with-param name="oid" select="@def:CommentOID"/></xsl:call-template></td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <!-- origin, source, method, comment of an ItemRef/ItemDef pair -->
  <xsl:template name="derivation">
    <xsl:param name="ref"/>
    <xsl:param name="def"/>
    <xsl:for-each select="$def/def:Origin">
      <span class="label"><xsl:value-of select="@Type"/></span>
      <xsl:if test="@Source"> (<xsl:value-of select="@Source"/>)</xsl:if>
      <xsl:if test="odm:Description">: <xsl:call-template name="text"><xsl:with-param name="node" select="odm:Description"/></xsl:call-template></xsl:if>
      <xsl:if test="def:DocumentRef"><br/><xsl:apply-templates select="def:DocumentRef"/></xsl:if>
      <br/>
    </xsl:for-each>
    <xsl:if test="$ref/@MethodOID">
      <a href="#{$ref/@MethodOID}"><xsl:value-of select="key('method', $ref/@MethodOID)/@Name"/></a>:
      <xsl:call-template name="text"><xsl:with-param name="node" select="key('method', $ref/@MethodOID)/odm:Description"/></xsl:call-template>
      <br/>
    </xsl:if>
    <xsl:call-template name="comment-link"><xsl:with-param name="oid" select="$def/@def:CommentOID"/></xsl:call-template>
  </xsl:template>

  <xsl:template name="terms">
    <xsl:param name="def"/>
    <xsl:if test="$def/odm:CodeListRef">
      <xsl:variable name="cl" select="key('codelist', $def/odm:CodeListRef/@CodeListOID)"/>
      <a href="#{$cl/@OID}"><xsl:value-of select="$cl/@Name"/></a>
      <xsl:if test="count($cl/odm:CodeListItem | $cl/odm:EnumeratedItem) &lt;= 4 and not($cl/odm:ExternalCodeList)">
        <xsl:text>: </xsl:text>
        <xsl:for-each select="$cl/odm:CodeListItem | $cl/odm:EnumeratedItem">
          <xsl:text>"</xsl:text><xsl:value-of select="@CodedValue"/><xsl:text>"</xsl:text>
          <xsl:if test="position() != last()">, </xsl:if>
        </xsl:for-each>
      </xsl:if>
    </xsl:if>
    <xsl:if test="$def/@def:DisplayFormat">
      <xsl:if test="$def/odm:CodeListRef"><br/></xsl:if>
      <xsl:value-of select="$def/@def:DisplayFormat"/>
    </xsl:if>
  </xsl:template>

  <xsl:template match="odm:ItemGroupDef" mode="variables">
    <h3 id="{@OID}">
      <xsl:value-of select="@Name"/>: <xsl:call-template name="text"><xsl:with-param name="node" select="odm:Description"/></xsl:call-template>
    </h3>
    <p class="small">
      <xsl:value-of select="def:Class/@Name"/>; <xsl:value-of select="@def:Structure"/>
      <xsl:for-each select="def:leaf"><xsl:text>; data: </xsl:text><a href="{@xlink:href}"><xsl:value-of select="def:title"/></a></xsl:for-each>
    </p>
    <table>
      <tr><th>Variable</th><th>Label</th><th>Key</th><th>Type</th><th>Length</th>
          <th>Controlled terms or format</th><th>Origin / source / method / comment</th></tr>
      <xsl:for-each select="odm:ItemRef">
        <xsl:sort select="@OrderNumber" data-type="number"/>
        <xsl:variable name="def" select="key('item', @ItemOID)"/>
        <tr id="{@ItemOID}">
          <td>
            <xsl:value-of select="$def/@Name"/>
            <xsl:if test="$def/def:ValueListRef">
              <br/><a href="#{$def/def:ValueListRef/@ValueListOID}">value level</a>
            </xsl:if>
          </td>
          <td><xsl:call-template name="text"><xsl:with-param name="node" select="$def/odm:Description"/></xsl:call-template></td>
          <td><xsl:value-of select="@KeySequence"/></td>
          <td><xsl:value-of select="$def/@DataType"/></td>
          <td><xsl:value-of select="$def/@Length"/></td>
          <td><xsl:call-template name="terms"><xsl:with-param name="def" select="$def"/></xsl:call-template></td>
          <td><xsl:call-template name="derivation"><xsl:with-param name="ref" select="."/><xsl:with-param name="def" select="$def"/></xsl:call-template></td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <!-- "TSPARMCD EQ AGEMIN and ..." -->
  <xsl:template name="where-text">
    <xsl:param name="oid"/>
    <xsl:for-each select="key('where', $oid)/odm:RangeCheck">
      <xsl:value-of select="key('item', @def:ItemOID)/@Name"/>
      <xsl:text> </xsl:text><xsl:value-of select="@Comparator"/><xsl:text> </xsl:text>
      <xsl:for-each select="odm:CheckValue">
        <xsl:text>'</xsl:text><xsl:value-of select="."/><xsl:text>'</xsl:text>
        <xsl:if test="position() != last()">, </xsl:if>
      </xsl:for-each>
      <xsl:if test="position() != last()"> and </xsl:if>
    </xsl:for-each>
  </xsl:template>

  <xsl:template name="valuelevel">
    <xsl:if test="$mdv/def:ValueListDef">
      <h2 id="valuelevel">Value level metadata</h2>
      <xsl:for-each select="$mdv/def:ValueListDef">
        <xsl:variable name="vl" select="@OID"/>
        <xsl:variable name="parent" select="$mdv/odm:ItemDef[def:ValueListRef/@ValueListOID = $vl]"/>
        <h3 id="{@OID}">
          <xsl:text>Value level metadata: </xsl:text>
          <xsl:for-each select="$parent">
            <xsl:variable name="oid" select="@OID"/>
            <xsl:value-of select="$mdv/odm:ItemGroupDef[odm:ItemRef/@ItemOID = $oid]/@Name"/>.<xsl:value-of select="@Name"/>
            <xsl:if test="position() != last()">, </xsl:if>
          </xsl:for-each>
        </h3>
        <table>
          <tr><th>Where</th><th>Label</th><th>Type</th><th>Length</th>
              <th>Controlled terms or format</th><th>Origin / source / method / comment</th></tr>
          <xsl:for-each select="odm:ItemRef">
            <xsl:sort select="@OrderNumber" data-type="number"/>
            <xsl:variable name="def" select="key('item', @ItemOID)"/>
            <tr>
              <td><xsl:call-template name="where-text"><xsl:with-param name="oid" select="def:WhereClauseRef/@WhereClauseOID"/></xsl:call-template></td>
              <td><xsl:call-template name="text"><xsl:with-param name="node" select="$def/odm:Description"/></xsl:call-template></td>
              <td><xsl:value-of select="$def/@DataType"/></td>
              <td><xsl:value-of select="$def/@Length"/></td>
              <td><xsl:call-template name="terms"><xsl:with-param name="def" select="$def"/></xsl:call-template></td>
              <td><xsl:call-template name="derivation"><xsl:with-param name="ref" select="."/><xsl:with-param name="def" select="$def"/></xsl:call-template></td>
            </tr>
          </xsl:for-each>
        </table>
      </xsl:for-each>
    </xsl:if>
  </xsl:template>

  <xsl:template name="codelists">
    <xsl:if test="$mdv/odm:CodeList[not(odm:ExternalCodeList)]">
      <h2 id="codelists">Codelists</h2>
      <xsl:for-each select="$mdv/odm:CodeList[not(odm:ExternalCodeList)]">
        <h3 id="{@OID}">
          <xsl:value-of select="@Name"/> (<xsl:value-of select="@OID"/>)
          <xsl:if test="odm:Alias[@Context='nci:ExtCodeID']"> [<xsl:value-of select="odm:Alias[@Context='nci:ExtCodeID']/@Name"/>]</xsl:if>
          <xsl:if test="@def:IsNonStandard = 'Yes'"> (sponsor codelist)</xsl:if>
        </h3>
        <table>
          <tr><th>Coded value</th><th>Decode</th><th>NCI code</th></tr>
          <xsl:for-each select="odm:CodeListItem | odm:EnumeratedItem">
            <xsl:sort select="@OrderNumber" data-type="number"/>
            <tr>
              <td>
                <xsl:value-of select="@CodedValue"/>
                <xsl:if test="@def:ExtendedValue = 'Yes'"> *</xsl:if>
              </td>
              <td><xsl:call-template name="text"><xsl:with-param name="node" select="odm:Decode"/></xsl:call-template></td>
              <td><xsl:value-of select="odm:Alias[@Context='nci:ExtCodeID']/@Name"/></td>
            </tr>
          </xsl:for-each>
        </table>
        <xsl:if test=".//@def:ExtendedValue = 'Yes'"><p class="small">* sponsor term added to an extensible codelist</p></xsl:if>
      </xsl:for-each>
    </xsl:if>
  </xsl:template>

  <xsl:template name="dictionaries">
    <xsl:if test="$mdv/odm:CodeList[odm:ExternalCodeList]">
      <h2 id="dictionaries">External dictionaries</h2>
      <table>
        <tr><th>Reference name</th><th>Dictionary</th><th>Version</th><th>Reference</th></tr>
        <xsl:for-each select="$mdv/odm:CodeList[odm:ExternalCodeList]">
          <tr id="{@OID}">
            <td><xsl:value-of select="@Name"/></td>
            <td><xsl:value-of select="odm:ExternalCodeList/@Dictionary"/></td>
            <td><xsl:value-of select="odm:ExternalCodeList/@Version"/></td>
            <td>
              <xsl:choose>
                <xsl:when test="odm:ExternalCodeList/@href"><a href="{odm:ExternalCodeList/@href}"><xsl:value-of select="odm:ExternalCodeList/@href"/></a></xsl:when>
                <xsl:otherwise><xsl:value-of select="odm:ExternalCodeList/@ref"/></xsl:otherwise>
              </xsl:choose>
            </td>
          </tr>
        </xsl:for-each>
      </table>
    </xsl:if>
  </xsl:template>

  <xsl:template name="methods">
    <xsl:if test="$mdv/odm:MethodDef">
      <h2 id="methods">Methods</h2>
      <table>
        <tr><th>Method</th><th>Type</th><th>Description</th></tr>
        <xsl:for-each select="$mdv/odm:MethodDef">
          <tr id="{@OID}">
            <td><xsl:value-of select="@Name"/><br/><span class="oid"><xsl:value-of select="@OID"/></span></td>
            <td><xsl:value-of select="@Type"/></td>
            <td>
              <xsl:call-template name="text"><xsl:with-param name="node" select="odm:Description"/></xsl:call-template>
              <xsl:for-each select="odm:FormalExpression"><br/><code><xsl:value-of select="."/></code></xsl:for-each>
              <xsl:if test="def:DocumentRef"><br/><xsl:apply-templates select="def:DocumentRef"/></xsl:if>
            </td>
          </tr>
        </xsl:for-each>
      </table>
    </xsl:if>
  </xsl:template>

  <xsl:template name="comments">
    <xsl:if test="$mdv/def:CommentDef">
      <h2 id="comments">Comments</h2>
      <table>
        <tr><th>Comment</th><th>Description</th></tr>
        <xsl:for-each select="$mdv/def:CommentDef">
          <tr id="{@OID}">
            <td class="oid"><xsl:value-of select="@OID"/></td>
            <td>
              <xsl:call-template name="text"><xsl:with-param name="node" select="odm:Description"/></xsl:call-template>
              <xsl:if test="def:DocumentRef"><br/><xsl:apply-templates select="def:DocumentRef"/></xsl:if>
            </td>
          </tr>
        </xsl:for-each>
      </table>
    </xsl:if>
  </xsl:template>

  <xsl:template name="documents">
    <xsl:if test="$mdv/def:leaf">
      <h2 id="documents">Documents</h2>
      <ul>
        <xsl:for-each select="$mdv/def:leaf">
          <li><a href="{@xlink:href}"><xsl:value-of select="def:title"/></a></li>
        </xsl:for-each>
      </ul>
    </xsl:if>
  </xsl:template>
</xsl:stylesheet>
